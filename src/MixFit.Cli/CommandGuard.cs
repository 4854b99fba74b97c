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
    public static int Run(Action action, TextWriter? error = null) => Run(_ =>
    {
        action();
        return false;
    }, error);

    /// <summary>Runs a job with Ctrl+C wired to <paramref name="job"/>'s token; the job returns whether it was interrupted.</summary>
    /// <param name="job">The work; returns true when it stopped because of Ctrl+C.</param>
    /// <param name="error">Where error lines go; default standard error.</param>
    public static int Run(Func<CancellationToken, bool> job, TextWriter? error = null)
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
            Report(error ?? Console.Error, "error", e);
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Report(error ?? Console.Error, "internal error", e);
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

    /// <summary>An exception's message for a user: without .NET's " (Parameter 'x')" suffix on argument errors.</summary>
    internal static string UserMessage(Exception e) =>
        e is ArgumentException { ParamName: { } param } ? e.Message.Replace($" (Parameter '{param}')", "", StringComparison.Ordinal) : e.Message;

    private static void Report(TextWriter error, string kind, Exception e)
    {
        error.WriteLine($"{kind}: {UserMessage(e)}");
        if (Environment.GetEnvironmentVariable(DebugVariable) is "1" or "true")
        {
            error.WriteLine(e);
        }
    }
}
