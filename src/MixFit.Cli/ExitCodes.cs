namespace MixFit.Cli;

/// <summary>The CLI's one exit-code convention, shown in <c>mixfit --help</c>.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>An unexpected internal error (a bug or an environment failure MixFit did not foresee).</summary>
    public const int InternalError = 1;

    /// <summary>Bad input or usage: an unknown option value, a missing or malformed file, an unavailable device.</summary>
    public const int BadInput = 2;

    /// <summary>Interrupted by Ctrl+C (128 + SIGINT); what was written so far is intact.</summary>
    public const int Interrupted = 130;

    /// <summary>The convention as printed in the root command's help.</summary>
    public const string Help = "Exit codes: 0 success, 1 internal error, 2 bad input or usage, 130 interrupted (Ctrl+C). Set MIXFIT_DEBUG=1 for stack traces.";
}
