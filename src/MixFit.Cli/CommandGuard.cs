using System.Text.Json;
using Microsoft.Data.Sqlite;
using MixFit.Native;

namespace MixFit.Cli;

/// <summary>
/// The one error guard of every command: Ctrl+C becomes a clean stop (exit 130), expected failures one line naming
/// what was wrong (exit 2), anything else one line as an internal error (exit 1). Stack traces only with
/// <c>MIXFIT_DEBUG=1</c>.
/// </summary>
internal static class CommandGuard
{
    /// <summary>The environment variable that adds stack traces to error messages.</summary>
    public const string DebugVariable = "MIXFIT_DEBUG";

    /// <summary>Runs a command that cannot be interrupted midway.</summary>
    public static int Run(Action action) => Run(_ =>
    {
        action();
        return false;
    });

    /// <summary>Runs a job with Ctrl+C wired to <paramref name="job"/>'s token; the job returns whether it was interrupted.</summary>
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
            return job(cancel.Token) ? ExitCodes.Interrupted : ExitCodes.Success;
        }
        catch (Exception e) when (IsBadInput(e))
        {
            Report("error", e);
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Report("internal error", e);
            return ExitCodes.InternalError;
        }
        finally
        {
            Console.CancelKeyPress -= handler;
        }
    }

    /// <summary>Failures caused by what the user gave (options, files, folders, devices), as opposed to bugs.</summary>
    private static bool IsBadInput(Exception e) =>
        e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or NotSupportedException
            or NativeLoadException or KeyNotFoundException or FormatException or JsonException or UnauthorizedAccessException or IOException
            or SqliteException
        || (e is MixFit.Callbacks.CallbackException { InnerException: { } inner } && IsBadInput(inner));

    private static void Report(string kind, Exception e)
    {
        string message = e is ArgumentException { ParamName: { } param } ? e.Message.Replace($" (Parameter '{param}')", "", StringComparison.Ordinal) : e.Message;
        Console.Error.WriteLine($"{kind}: {message}");
        if (Environment.GetEnvironmentVariable(DebugVariable) is "1" or "true")
        {
            Console.Error.WriteLine(e);
        }
    }
}
