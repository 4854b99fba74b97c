using MixFit.Callbacks;

namespace MixFit.Tests.Callbacks;

public class ProgbarTests
{
    private static KeyValuePair<string, double>[] Logs(double loss, double accuracy) =>
        new[] { new KeyValuePair<string, double>("loss", loss), new("accuracy", accuracy) };

    private sealed class FakeClock
    {
        public double Now { get; set; }
    }

    [Fact]
    public void A_finished_epoch_prints_the_articles_line_with_the_warm_up_step_excluded()
    {
        var clock = new FakeClock();
        var output = new StringWriter();
        var bar = new Progbar(78, output, verbose: 1, dynamic: false, clock: () => clock.Now);

        // First step takes 0.06 s (warm-up), the other 77 steps 0.23 s each: 17.77 s in total.
        clock.Now = 0.06;
        bar.Update(1, Logs(2.3, 0.1), finalize: false);
        for (int step = 2; step <= 78; step++)
        {
            clock.Now = 0.06 + ((step - 1) * 0.23);
            bar.Update(step, Logs(0.2259, 0.7822), finalize: false);
        }

        bar.Update(78, Logs(0.2259, 0.7822), finalize: true);
        Assert.Equal("78/78 [==============================] - 18s 230ms/step - loss: 0.2259 - accuracy: 0.7822\n", output.ToString());
    }

    [Fact]
    public void On_a_terminal_the_bar_is_redrawn_in_place_with_an_eta()
    {
        var clock = new FakeClock();
        var output = new StringWriter();
        var bar = new Progbar(78, output, verbose: 1, dynamic: true, clock: () => clock.Now);
        clock.Now = 0.5;
        bar.Update(1, Logs(2.3012, 0.1), finalize: false);
        clock.Now = 0.5 + (44 * 0.23);
        bar.Update(45, Logs(0.3012, 0.7011), finalize: false);
        string[] frames = output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(" 1/78 [..............................] - ETA: 38s - loss: 2.3012 - accuracy: 0.1000", frames[0]);
        Assert.Equal("45/78 [================>.............] - ETA: 7s - loss: 0.3012 - accuracy: 0.7011", frames[1].TrimEnd());
        Assert.DoesNotContain('\n', output.ToString());
    }

    [Fact]
    public void A_shorter_redraw_is_padded_to_erase_the_previous_text()
    {
        var clock = new FakeClock();
        var output = new StringWriter();
        var bar = new Progbar(10, output, verbose: 1, dynamic: true, clock: () => clock.Now);
        clock.Now = 1;
        bar.Update(1, new[] { new KeyValuePair<string, double>("loss", 12345.678) }, finalize: false);
        clock.Now = 2;
        bar.Update(2, new[] { new KeyValuePair<string, double>("loss", 1.5) }, finalize: false);
        string[] frames = output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(frames[0].Length, frames[1].Length);
        Assert.EndsWith("loss: 1.5000", frames[1].TrimEnd());
        Assert.EndsWith(" ", frames[1]);
    }

    [Fact]
    public void Redraws_are_throttled_to_one_per_50_ms_except_the_last()
    {
        var clock = new FakeClock();
        var output = new StringWriter();
        var bar = new Progbar(100, output, verbose: 1, dynamic: true, clock: () => clock.Now);
        for (int step = 1; step <= 100; step++)
        {
            clock.Now = step * 0.01;
            bar.Update(step, Logs(1, 0.5), finalize: false);
        }

        bar.Update(100, Logs(1, 0.5), finalize: true);
        int frames = output.ToString().Count(c => c == '\r');
        Assert.InRange(frames, 19, 22);
        Assert.EndsWith("\n", output.ToString());
    }

    [Fact]
    public void Verbose_two_prints_one_summary_line_without_control_characters()
    {
        var clock = new FakeClock();
        var output = new StringWriter();
        var bar = new Progbar(78, output, verbose: 2, dynamic: true, clock: () => clock.Now);
        for (int step = 1; step <= 78; step++)
        {
            clock.Now = step * 0.23;
            bar.Update(step, Logs(0.2259, 0.7822), finalize: false);
        }

        bar.Update(78, Logs(0.2259, 0.7822), finalize: true);
        Assert.Equal("78/78 - 18s - loss: 0.2259 - accuracy: 0.7822 - 18s/epoch - 230ms/step\n", output.ToString());
    }

    [Theory]
    [InlineData(0.2259, "0.2259")]
    [InlineData(0.0004567, "4.5670e-04")]
    [InlineData(-12.5, "-12.5000")]
    [InlineData(0.0, "0.0000e+00")]
    public void Values_use_four_decimals_or_scientific_notation_below_one_thousandth(double value, string expected) =>
        Assert.Equal(expected, Progbar.FormatValue(value));

    [Theory]
    [InlineData(2.4, " 2s/step")]
    [InlineData(0.2304, " 230ms/step")]
    [InlineData(0.00008, " 80us/step")]
    public void Step_times_pick_seconds_milliseconds_or_microseconds(double seconds, string expected) =>
        Assert.Equal(expected, Progbar.FormatTime(seconds, "step"));

    [Theory]
    [InlineData(7.9, "7s")]
    [InlineData(65, "1:05")]
    [InlineData(3665, "1:01:05")]
    public void Eta_uses_seconds_minutes_or_hours(double eta, string expected) => Assert.Equal(expected, Progbar.FormatEta(eta));

    [Fact]
    public void The_logger_prints_epoch_headers_and_one_line_per_epoch_when_redirected()
    {
        var (x, y) = MixFit.Tests.Support.TinyProblems.FashionMnist(32);
        using var trainer = new MixFit.Training.Trainer(MixFit.Tests.Support.TinyProblems.Mlp(1), TorchSharp.torch.CPU);
        trainer.Compile(new MixFit.Training.CompileOptions { Metrics = new[] { "accuracy" } });
        var output = new StringWriter();
        trainer.Fit(x, y, new MixFit.Training.FitOptions { Epochs = 2, BatchSize = 16, Callbacks = new[] { new ProgbarLogger(output, dynamic: false) }, Verbose = 0 });
        Assert.Equal("", output.ToString());

        var logged = new StringWriter();
        var context = trainer.Fit(x, y, new MixFit.Training.FitOptions { Epochs = 2, BatchSize = 16, Output = logged, Verbose = 1 });
        var lines = logged.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("Epoch 1/2", lines[0]);
        Assert.Matches(@"^2/2 \[==============================\] - \d+s \d+(ms|us|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$", lines[1]);
        Assert.Equal("Epoch 2/2", lines[2]);
        Assert.DoesNotContain('\r', logged.ToString());
        Assert.DoesNotContain('\b', logged.ToString());
        Assert.DoesNotContain('\u001b', logged.ToString());
    }
}
