namespace MixFit.Callbacks;

/// <summary>
/// Prints Keras' training log: <c>Epoch i/N</c> (when N &gt; 1) and a <see cref="Progbar"/> per epoch; added by
/// <c>Fit</c> when verbose is 1 or 2. On a terminal the bar is live; redirected output gets one clean line per epoch.
/// </summary>
public sealed class ProgbarLogger : Callback
{
    /// <inheritdoc />
    public override int Order => ConsoleOrder;

    private readonly TextWriter? output;
    private readonly bool dynamic;
    private readonly Func<double>? clock;
    private Progbar? bar;
    private int seen;
    private bool evaluating;
    private IReadOnlyDictionary<string, double> lastLogs = new Dictionary<string, double>();

    /// <summary>Creates the logger.</summary>
    /// <param name="output">Where to write (default: the console).</param>
    /// <param name="dynamic">Redraw in place; default: true exactly when the console's output is not redirected.</param>
    /// <param name="clock">Seconds source for tests.</param>
    public ProgbarLogger(TextWriter? output = null, bool? dynamic = null, Func<double>? clock = null)
    {
        this.output = output;
        this.dynamic = dynamic ?? (output is null && !Console.IsOutputRedirected);
        this.clock = clock;
    }

    /// <summary>
    /// Least seconds between two redraws of a live bar, default 0.25. Each redraw reads the step's logs from the device
    /// (one transfer; on a GPU, a synchronisation), so this bounds the progress bar's cost to a few reads a second;
    /// Keras redraws every 0.05 s.
    /// </summary>
    public double RefreshSeconds { get; init; } = 0.25;

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (Context.Verbose == 0)
        {
            return;
        }

        if (Context.Epochs > 1)
        {
            Output.WriteLine($"Epoch {epoch + 1}/{Context.Epochs}");
        }

        seen = 0;
        bar = new Progbar(Context.StepsPerEpoch, Output, Context.Verbose, dynamic, clock, interval: RefreshSeconds);
    }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        seen = batch + 1;
        lastLogs = logs;
        bar?.Update(seen, Displayed(logs), finalize: false);
    }

    /// <summary>An interrupted epoch's bar stays where it stopped, with a line saying so.</summary>
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (Context.InterruptedAt is { } at && bar is not null)
        {
            bar.Update(at.Step, Displayed(lastLogs), finalize: true);
            bar = null;
            Output.WriteLine($"Interrupted at step {at.Step}/{(Context.StepsPerEpoch is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")} of epoch {at.Epoch + 1}.");
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        bar?.Update(Context.StepsPerEpoch ?? seen, Displayed(logs), finalize: true);
        bar = null;
    }

    /// <inheritdoc />
    public override void OnTestBegin(IReadOnlyDictionary<string, double> logs)
    {
        // Validation inside Fit runs silently, as in Keras; a standalone Evaluate gets its own bar.
        if (bar is null && Context.Verbose != 0)
        {
            seen = 0;
            bar = new Progbar(Context.TestSteps, Output, Context.Verbose, dynamic, clock, interval: RefreshSeconds);
            evaluating = true;
        }
    }

    /// <inheritdoc />
    public override void OnTestBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (evaluating)
        {
            seen = batch + 1;
            bar?.Update(seen, Displayed(logs), finalize: false);
        }
    }

    /// <inheritdoc />
    public override void OnTestEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (evaluating)
        {
            bar?.Update(Context.TestSteps ?? seen, Displayed(logs), finalize: true);
            bar = null;
            evaluating = false;
        }
    }

    // Resolved when used: a console redirection installed after construction (e.g. a tracker's tee) is honoured.
    private TextWriter Output => output ?? Console.Out;

    private IEnumerable<KeyValuePair<string, double>> Displayed(IReadOnlyDictionary<string, double> logs)
    {
        foreach (var name in Context.MetricNames)
        {
            if (logs.TryGetValue(name, out double value))
            {
                yield return new(name, value);
            }
        }

        foreach (var name in Context.MetricNames)
        {
            if (logs.TryGetValue("val_" + name, out double value))
            {
                yield return new("val_" + name, value);
            }
        }
    }
}
