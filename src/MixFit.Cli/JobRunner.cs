using MixFit.Native;

namespace MixFit.Cli;

/// <summary>Runs a job with Ctrl+C wired to a clean stop, and turns known failures into one-line errors and exit codes.</summary>
internal static class JobRunner
{
    /// <summary>Exit code of a run stopped by Ctrl+C (128 + SIGINT).</summary>
    public const int Interrupted = 130;

    public static int Run(Func<CancellationToken, bool> job)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler handler = (_, e) =>
        {
            e.Cancel = true;
            if (!cancel.IsCancellationRequested)
            {
                Console.Error.WriteLine("Stopping after the current step (the last checkpoint stays intact)...");
                cancel.Cancel();
            }
        };
        Console.CancelKeyPress += handler;
        try
        {
            bool cancelled = job(cancel.Token);
            return cancelled ? Interrupted : 0;
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or NotSupportedException or NativeLoadException or KeyNotFoundException or FormatException)
        {
            string message = e is ArgumentException { ParamName: { } param } ? e.Message.Replace($" (Parameter '{param}')", "", StringComparison.Ordinal) : e.Message;
            Console.Error.WriteLine($"error: {message}");
            return 2;
        }
        finally
        {
            Console.CancelKeyPress -= handler;
        }
    }
}
