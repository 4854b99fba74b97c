namespace MixFit.Experiments;

/// <summary>
/// Where a job writes. Given <see cref="Console.Out"/>, it keeps following the console: a tracked run tees the
/// console into its <c>output.log</c> while it trains, and the Keras progress bar redraws in place on a terminal.
/// Given any other writer (a file, a <see cref="StringWriter"/> in a test), everything goes there.
/// </summary>
internal sealed class JobOutput(TextWriter writer)
{
    private readonly bool console = ReferenceEquals(writer, Console.Out);

    /// <summary>The writer for the job's own messages (the current console when the job was given the console).</summary>
    public TextWriter Writer => console ? Console.Out : writer;

    /// <summary>The writer to hand to <c>Fit</c>: null (the console, dynamic where it is a terminal) when the job was given the console.</summary>
    public TextWriter? ForFit => console ? null : writer;
}
