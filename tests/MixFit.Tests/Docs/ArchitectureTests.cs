using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MixFit.Tests.Support;

namespace MixFit.Tests.Docs;

/// <summary>
/// The rules docs/architecture.md states about the seams, held by reflection over the built assemblies and a scan of
/// the sources (Roslyn syntax trees): which way references point, who writes to the console, and that members reading
/// a value from the device are methods. Each rule's message names the file and member that broke it.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>Library projects whose sources the scans read (the CLI is the console's owner and is not scanned).</summary>
    private static readonly string[] LibraryProjects = { "MixFit", "MixFit.Tracking", "MixFit.Integration.Tracking", "MixFit.Experiments" };

    /// <summary>
    /// The places library code may touch <c>System.Console</c>, each with the reason docs/architecture.md gives.
    /// A new use anywhere else fails the test.
    /// </summary>
    private static readonly Dictionary<string, string> ConsoleAllowed = new(StringComparer.Ordinal)
    {
        ["src/MixFit/Callbacks/ProgbarLogger.cs"] = "a console callback: the console is its default writer",
        ["src/MixFit/Callbacks/EarlyStopping.cs"] = "a console callback: the console is its default writer",
        ["src/MixFit/Callbacks/ReduceLROnPlateau.cs"] = "a console callback: the console is its default writer",
        ["src/MixFit/Callbacks/TerminateOnNaN.cs"] = "a console callback: the console is its default writer",
        ["src/MixFit/Callbacks/LearningRateScheduler.cs"] = "a console callback: the console is its default writer",
        ["src/MixFit/Callbacks/ModelCheckpoint.cs"] = "a console callback: the console is its default writer",
        ["src/MixFit/Training/Trainer.cs"] = "Compile's warnings go to standard error, as Python's warnings do (also kept in Trainer.Warnings)",
        ["src/MixFit/Distributed/Mpi.cs"] = "a dying rank's last line before it aborts the MPI job: no writer outlives the process",
        ["src/MixFit.Experiments/JobOutput.cs"] = "a job given the console keeps following it (a tracked run's tee replaces it while it trains)",
        ["src/MixFit.Tracking/Store/Run.cs"] = "Run.CaptureConsole tees the process's console into the run's output.log while it trains",
    };

    private static IEnumerable<(string Path, SyntaxTree Tree)> Sources(string project) =>
        Directory.EnumerateFiles(Path.Combine(RepositoryFiles.Root, "src", project), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (Path.GetRelativePath(RepositoryFiles.Root, f).Replace('\\', '/'), CSharpSyntaxTree.ParseText(File.ReadAllText(f), path: f)));

    private static string[] References(string assembly) =>
        Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, assembly + ".dll")).GetReferencedAssemblies().Select(a => a.Name!).Order().ToArray();

    [Fact]
    public void The_core_references_neither_the_tracker_nor_sqlite_nor_scottplot_nor_the_layers_above_it()
    {
        var forbidden = new[] { "MixFit.Tracking", "MixFit.Integration.Tracking", "MixFit.Experiments", "MixFit.Cli", "Microsoft.Data.Sqlite", "ScottPlot" };
        Assert.Empty(References("MixFit").Intersect(forbidden));
    }

    [Fact]
    public void The_tracker_references_neither_torchsharp_nor_the_core()
    {
        var forbidden = new[] { "TorchSharp", "MixFit", "MixFit.Integration.Tracking", "MixFit.Experiments" };
        Assert.Empty(References("MixFit.Tracking").Intersect(forbidden));
    }

    [Fact]
    public void The_core_and_the_tracker_meet_only_in_the_integration_and_experiments_layers()
    {
        Assert.Equal(new[] { "MixFit", "MixFit.Tracking" }, References("MixFit.Integration.Tracking").Where(a => a.StartsWith("MixFit", StringComparison.Ordinal)));
        Assert.DoesNotContain("MixFit.Cli", References("MixFit.Experiments"));
    }

    [Fact]
    public void Library_code_touches_the_console_only_where_the_architecture_says_why()
    {
        var offenders = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var project in LibraryProjects)
        {
            foreach (var (path, tree) in Sources(project))
            {
                foreach (var access in tree.GetRoot().DescendantNodes().OfType<MemberAccessExpressionSyntax>()
                             .Where(m => m.Expression is IdentifierNameSyntax { Identifier.Text: "Console" } || m.Expression.ToString() == "System.Console"))
                {
                    if (access.Ancestors().OfType<DocumentationCommentTriviaSyntax>().Any())
                    {
                        continue;
                    }

                    if (ConsoleAllowed.ContainsKey(path))
                    {
                        used.Add(path);
                    }
                    else
                    {
                        offenders.Add($"{path}:{access.GetLocation().GetLineSpan().StartLinePosition.Line + 1}: {access}");
                    }
                }
            }
        }

        Assert.True(offenders.Count == 0, "Library code writes to the console outside the places docs/architecture.md allows (write to the TextWriter you are given):\n" + string.Join("\n", offenders));
        Assert.True(used.SetEquals(ConsoleAllowed.Keys), "Allowed but no longer touching the console (remove from the list and docs/architecture.md): " + string.Join(", ", ConsoleAllowed.Keys.Except(used)));
    }

    [Fact]
    public void No_public_property_reads_a_value_from_the_device()
    {
        var offenders = new List<string>();
        foreach (var project in LibraryProjects)
        {
            foreach (var (path, tree) in Sources(project))
            {
                foreach (var property in tree.GetRoot().DescendantNodes().OfType<PropertyDeclarationSyntax>().Where(IsPublicApi))
                {
                    var body = (SyntaxNode?)property.ExpressionBody ?? property.AccessorList?.Accessors.FirstOrDefault(a => a.IsKind(SyntaxKind.GetAccessorDeclaration));
                    if (body is not null && ReadsTheDevice(body))
                    {
                        offenders.Add($"{path}: {((TypeDeclarationSyntax)property.Parent!).Identifier.Text}.{property.Identifier.Text}");
                    }
                }
            }
        }

        Assert.True(offenders.Count == 0, "Public properties that read from the device (make them methods: a read synchronises with the device):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_device_read_scan_finds_a_property_that_reads()
    {
        var tree = CSharpSyntaxTree.ParseText("public sealed class Probe { public double Scale => HostReads.Item<float>(scale); public double Safe => 1; }");
        var flagged = tree.GetRoot().DescendantNodes().OfType<PropertyDeclarationSyntax>().Where(p => IsPublicApi(p) && ReadsTheDevice(p.ExpressionBody!)).Select(p => p.Identifier.Text);
        Assert.Equal(new[] { "Scale" }, flagged);
    }

    [Fact]
    public void Only_kernel_choice_decides_between_fused_and_managed_kernels()
    {
        var offenders = new List<string>();
        foreach (var project in LibraryProjects)
        {
            foreach (var (path, tree) in Sources(project).Where(s => !s.Path.EndsWith("/Kernels/KernelChoice.cs", StringComparison.Ordinal)))
            {
                var decisions = tree.GetRoot().DescendantNodes()
                    .Where(n => n is SwitchExpressionArmSyntax or CaseSwitchLabelSyntax or BinaryExpressionSyntax { RawKind: (int)SyntaxKind.EqualsExpression or (int)SyntaxKind.NotEqualsExpression })
                    .Where(n => n.DescendantNodes().OfType<MemberAccessExpressionSyntax>().Any(m => m.Expression.ToString() == "AmpKernelPreference"));
                offenders.AddRange(decisions.Select(d => $"{path}:{d.GetLocation().GetLineSpan().StartLinePosition.Line + 1}: {d}"));
            }
        }

        Assert.True(offenders.Count == 0, "Fused-or-managed decided outside Kernels/KernelChoice.cs (call KernelChoice instead):\n" + string.Join("\n", offenders));
    }

    /// <summary>A host read: MixFit's <c>HostReads</c>, or a tensor's <c>item</c>/<c>data</c>/<c>tolist</c>.</summary>
    private static bool ReadsTheDevice(SyntaxNode body) =>
        body.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(i => i.Identifier.Text == "HostReads")
        || body.DescendantNodesAndSelf().OfType<GenericNameSyntax>().Any(g => g.Identifier.Text is "item" or "data")
        || body.DescendantNodesAndSelf().OfType<MemberAccessExpressionSyntax>().Any(m => m.Name.Identifier.Text == "tolist");

    /// <summary>Public, in a public type (all the way out).</summary>
    private static bool IsPublicApi(MemberDeclarationSyntax member) =>
        member.Modifiers.Any(SyntaxKind.PublicKeyword)
        && member.Ancestors().OfType<BaseTypeDeclarationSyntax>().All(t => t.Modifiers.Any(SyntaxKind.PublicKeyword));
}
