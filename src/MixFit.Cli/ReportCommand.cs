using System.CommandLine;
using MixFit.Tracking.Reports;
using MixFit.Tracking.Store;

namespace MixFit.Cli;

/// <summary><c>mixfit report ID... -o report.html [--png DIR]</c>: an HTML report and optional PNG charts over runs.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var store = RunsCommand.StoreOption();
        var ids = new Argument<string[]>("ids") { Arity = ArgumentArity.OneOrMore, Description = "Run ids (or unique prefixes)." };
        var output = new Option<string>("--out", "-o") { Description = "The HTML file to write.", DefaultValueFactory = _ => "report.html" };
        var png = new Option<string?>("--png") { Description = "Also write the charts as PNG files into this folder." };
        var command = new Command("report", "Write a self-contained HTML report (and PNG charts) comparing runs.") { ids, output, png, store };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var runStore = RunStore.OpenReadOnly(parse.GetValue(store));
            var runIds = parse.GetValue(ids)!.Select(id => runStore.Get(id).Id).ToList();
            string html = parse.GetValue(output)!;
            HtmlReport.Write(runStore, runIds, html);
            Console.WriteLine(html);
            if (parse.GetValue(png) is { } dir)
            {
                foreach (var file in PngReport.Write(runStore, runIds, dir))
                {
                    Console.WriteLine(file);
                }
            }
        }));
        return command;
    }
}
