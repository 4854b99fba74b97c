using System.Globalization;
using MixFit.Tracking.Store;

// Usage: log <store> <name> <points>  |  hang <store> <name>  |  hang-unflushed <store> <name>  |  import <store> <folder>
//        |  finish-on-signal <store> <name> <signal-file>
var store = RunStore.Open(args[1]);
if (args[0] == "import")
{
    // Says when it starts, so a test can kill it partway through.
    Console.WriteLine("importing");
    Console.Out.Flush();
    var report = store.Import(args[2]);
    Console.WriteLine($"imported {report.RunId}");
    return 0;
}

var run = store.StartRun(args[2]);
if (args[0] == "log")
{
    int points = int.Parse(args[3], CultureInfo.InvariantCulture);
    for (int i = 0; i < points; i++)
    {
        run.Log("step", i, new Dictionary<string, double> { ["loss"] = 1.0 / (i + 1), ["lr"] = 1e-3 });
        if (i % 500 == 0)
        {
            run.Flush();
        }
    }

    run.Finish();
    return 0;
}

for (int i = 0; i < 10; i++)
{
    run.Log("step", i, new Dictionary<string, double> { ["loss"] = i });
}

if (args[0] == "hang")
{
    run.Flush();
}

if (args[0] == "finish-on-signal")
{
    // A live writer: flushed, then waits for the test's signal, then logs more, updates its summary and finishes.
    run.Flush();
    Console.WriteLine("ready");
    Console.Out.Flush();
    while (!File.Exists(args[3]))
    {
        Thread.Sleep(50);
    }

    for (int i = 10; i < 20; i++)
    {
        run.Log("step", i, new Dictionary<string, double> { ["loss"] = i });
    }

    run.UpdateSummary(new Dictionary<string, double> { ["loss"] = 19 });
    run.Finish();
    Console.WriteLine($"finished, deleted: {run.IsDeleted}");
    return 0;
}

// "hang-unflushed" leaves the 10 points to the run's once-a-second background flush.
Console.WriteLine("ready");
Console.Out.Flush();
Thread.Sleep(Timeout.Infinite);
return 0;
