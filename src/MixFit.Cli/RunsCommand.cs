using System.CommandLine;
using System.Globalization;
using MixFit.Tracking.Export;
using MixFit.Tracking.Reports;
using MixFit.Tracking.Store;

namespace MixFit.Cli;

/// <summary><c>mixfit runs list | show | compare | delete | export | import | repair</c> over the local run store.</summary>
internal static class RunsCommand
{
    public static Option<string?> StoreOption() => new("--store") { Description = $"Run store folder (default: ${RunStore.EnvironmentVariable} or ./mixfit-runs)." };

    public static Command Create()
    {
        var command = new Command("runs", "List, inspect, compare, export, import and delete tracked runs.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Compare());
        command.Subcommands.Add(Delete());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(Import());
        command.Subcommands.Add(Repair());
        return command;
    }

    private static Command List()
    {
        var store = StoreOption();
        var command = new Command("list", "List runs, newest first.") { store };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string root = Path.GetFullPath(parse.GetValue(store) ?? RunStore.DefaultRoot);
            // A store with run folders but no index says so (OpenReadOnly names `runs repair`) instead of listing nothing.
            var opened = RunStore.Exists(root) || RunStore.HasRunFolders(root) ? RunStore.OpenReadOnly(root) : null;
            var runs = opened?.List() ?? Array.Empty<RunInfo>();
            var unindexed = opened?.UnindexedFolders() ?? Array.Empty<string>();
            if (runs.Count == 0 && unindexed.Count == 0)
            {
                Console.WriteLine($"No runs in {root} yet. `mixfit compare` or `mixfit train` record runs there (--store or ${RunStore.EnvironmentVariable} to look elsewhere).");
                return;
            }

            Console.WriteLine($"{"id",-24}  {"name",-24}  {"policy",-15}  {"status",-9}  started");
            foreach (var run in runs)
            {
                Console.WriteLine($"{run.Id,-24}  {Cut(run.Name, 24),-24}  {run.Config["policy"]?.ToString() ?? "",-15}  {run.Status.ToString().ToLowerInvariant(),-9}  {run.StartedAt.LocalDateTime:yyyy-MM-dd HH:mm:ss}");
            }

            if (unindexed.Count > 0)
            {
                Console.WriteLine($"{unindexed.Count} run folder(s) in {Path.Combine(root, "runs")} are not in the index ({string.Join(", ", unindexed.Take(3).Select(Path.GetFileName))}{(unindexed.Count > 3 ? ", ..." : "")}): `mixfit runs repair` indexes them.");
            }
        }));
        return command;
    }

    private static Command Show()
    {
        var store = StoreOption();
        var id = new Argument<string>("id") { Description = "Run id (or a unique prefix)." };
        var command = new Command("show", "Show a run's configuration and summary.") { id, store };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var run = RunStore.OpenReadOnly(parse.GetValue(store)).Get(parse.GetValue(id)!);
            Console.WriteLine($"{run.Id}  {run.Name}  ({run.Status.ToString().ToLowerInvariant()})");
            Console.WriteLine($"folder   {run.Folder}");
            Console.WriteLine($"started  {run.StartedAt.LocalDateTime:yyyy-MM-dd HH:mm:ss}  ended {run.EndedAt?.LocalDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-"}");
            Console.WriteLine("config");
            Console.WriteLine(run.Config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine("summary");
            foreach (var (key, value) in run.Summary.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"  {key,-32} {value.ToString("G6", CultureInfo.InvariantCulture)}");
            }
        }));
        return command;
    }

    private static Command Compare()
    {
        var store = StoreOption();
        var ids = new Argument<string[]>("ids") { Arity = ArgumentArity.OneOrMore, Description = "Run ids (or unique prefixes)." };
        var command = new Command("compare", "Compare runs side by side (speed-up against the float32 run).") { ids, store };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var runStore = RunStore.OpenReadOnly(parse.GetValue(store));
            Console.Write(RunComparison.Table(RunComparison.Rows(parse.GetValue(ids)!.Select(runStore.Get))));
        }));
        return command;
    }

    private static Command Delete()
    {
        var store = StoreOption();
        var id = new Argument<string>("id") { Description = "Run id (or a unique prefix)." };
        var force = new Option<bool>("--force") { Description = "Also delete a run that is still being logged." };
        var command = new Command("delete", "Delete a run's folder and index entries (a live run only with --force).") { id, store, force };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var runStore = RunStore.Open(parse.GetValue(store));
            var run = runStore.Get(parse.GetValue(id)!);
            runStore.Delete(run.Id, parse.GetValue(force));
            Console.WriteLine($"deleted {run.Id}");
        }));
        return command;
    }

    private static Command Export()
    {
        var store = StoreOption();
        var id = new Argument<string>("id") { Description = "Run id (or a unique prefix)." };
        var format = new Option<string>("--format") { Description = "tensorboard, csv or json.", DefaultValueFactory = _ => "tensorboard" };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder (tensorboard) or file (csv, json)." };
        var command = new Command("export", "Export a run as TensorBoard event files, CSV or JSON.") { id, format, output, store };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var runStore = RunStore.OpenReadOnly(parse.GetValue(store));
            var run = runStore.Get(parse.GetValue(id)!);
            string fmt = parse.GetValue(format)!.ToLowerInvariant();
            string target = parse.GetValue(output) ?? (fmt == "tensorboard" ? Path.Combine(runStore.RunFolder(run.Id), "tensorboard") : $"{RunId.Validate(run.Id, runStore.Root)}.{fmt}");
            switch (fmt)
            {
                case "tensorboard":
                    foreach (var file in RunExporter.ToTensorBoard(runStore, run.Id, target))
                    {
                        Console.WriteLine(file);
                    }

                    break;
                case "csv":
                    RunExporter.ToCsv(runStore, run.Id, target);
                    Console.WriteLine(target);
                    break;
                case "json":
                    RunExporter.ToJson(runStore, run.Id, target);
                    Console.WriteLine(target);
                    break;
                default:
                    throw new ArgumentException($"Unknown format \"{fmt}\": expected tensorboard, csv or json.");
            }
        }));
        return command;
    }

    private static Command Repair()
    {
        var store = StoreOption();
        var command = new Command("repair", "Rebuild the run index (mixfit.db) from the run folders; an unreadable index is kept aside, never deleted.") { store };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string root = Path.GetFullPath(parse.GetValue(store) ?? RunStore.DefaultRoot);
            var report = RunStore.Repair(root);
            foreach (var problem in report.Problems)
            {
                Console.WriteLine(problem);
            }

            Console.WriteLine($"Indexed {report.Runs} run(s) with {report.Records} records from the folders of {root}"
                + (report.KeptAs is { } kept ? $"; the old index is kept as {kept}." : "."));
        }));
        return command;
    }

    private static Command Import()
    {
        var store = StoreOption();
        var folder = new Argument<string>("folder") { Description = "A run folder (from this or another machine)." };
        var command = new Command("import", "Import a run folder into the store.") { folder, store };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var report = RunStore.Open(parse.GetValue(store)).Import(parse.GetValue(folder)!);
            Console.WriteLine($"imported {report.RunId}: {report.Records} records");
            foreach (var problem in report.Problems)
            {
                Console.WriteLine($"  {problem}");
            }
        }));
        return command;
    }

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";
}
