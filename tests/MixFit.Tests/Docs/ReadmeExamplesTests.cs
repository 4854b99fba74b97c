using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MixFit.Tests.Docs;

/// <summary>
/// Every ```csharp block of README.md is a complete program: each compiles, as pasted into a fresh console project
/// (implicit usings, the MixFit packages), and the ones marked <c>&lt;!-- readme-test: run --&gt;</c> run. The README cannot drift.
/// </summary>
public sealed class ReadmeExamplesTests : IDisposable
{
    private static readonly string[] ImplicitUsings = { "System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Threading", "System.Threading.Tasks" };
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-readme-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<int, string, string> Blocks()
    {
        string readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "README.md"));
        var data = new TheoryData<int, string, string>();
        int index = 0;
        foreach (Match m in Regex.Matches(readme, @"(?:<!-- readme-test: (?<mode>run|compile) -->\n)?```csharp\n(?<code>.*?)```", RegexOptions.Singleline))
        {
            data.Add(++index, m.Groups["mode"].Success ? m.Groups["mode"].Value : "unmarked", m.Groups["code"].Value);
        }

        return data;
    }

    [Fact]
    public void The_readme_has_its_examples_and_each_is_marked()
    {
        var blocks = Blocks().Select(row => (string)row[1]).ToList();
        Assert.True(blocks.Count >= 7, $"{blocks.Count} C# blocks");
        Assert.DoesNotContain("unmarked", blocks);
        Assert.True(blocks.Count(b => b == "run") >= 5);
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Every_csharp_block_compiles_and_the_short_ones_run(int block, string mode, string code)
    {
        var assembly = Compile(block, code);
        if (mode != "run")
        {
            return;
        }

        var output = new StringWriter();
        var (originalOut, originalDirectory) = (Console.Out, Environment.CurrentDirectory);
        Environment.CurrentDirectory = dir;
        Console.SetOut(output);
        try
        {
            var entry = assembly.EntryPoint ?? throw new InvalidOperationException($"README block {block} has no entry point.");
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : new object[] { Array.Empty<string>() });
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new InvalidOperationException($"README block {block} failed when run: {e.InnerException.Message}\n{output}", e.InnerException);
        }
        finally
        {
            Console.SetOut(originalOut);
            Environment.CurrentDirectory = originalDirectory;
            MixFit.Training.Session.Clear();
        }

        Assert.NotEqual("", output.ToString().Trim());
    }

    private static Assembly Compile(int block, string code)
    {
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest), path: $"README-block-{block}.cs"),
            CSharpSyntaxTree.ParseText(string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n")), new CSharpParseOptions(LanguageVersion.Latest)),
        };
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(IsManaged)
            .GroupBy(Path.GetFileName)
            .Select(g => MetadataReference.CreateFromFile(g.First()));
        var compilation = CSharpCompilation.Create(
            $"ReadmeBlock{block}", trees, references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(result.Success, $"README block {block} does not compile:\n{string.Join("\n", errors)}");
        image.Position = 0;
        return AssemblyLoadContext.Default.LoadFromStream(image);
    }

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }
}
