using System.Text.Json;
using MixFit.Kernels;
using MixFit.Precision;

namespace MixFit.Tests.Precision;

public class LossScaleOptionsTests
{
    [Fact]
    public void Defaults_are_keras_dynamic_scaling()
    {
        var options = new LossScaleOptions();
        Assert.Equal(LossScaleMode.Dynamic, options.Mode);
        Assert.Equal(32768, options.InitialScale);
        Assert.Equal(2, options.GrowthFactor);
        Assert.Equal(0.5, options.BackoffFactor);
        Assert.Equal(2000, options.GrowthInterval);
        Assert.Null(options.MinScale);
    }

    [Fact]
    public void Only_mixed_float16_scales_by_default()
    {
        Assert.Equal(LossScaleMode.Dynamic, LossScaleOptions.DefaultFor(DTypePolicy.MixedFloat16).Mode);
        Assert.Equal(LossScaleMode.None, LossScaleOptions.DefaultFor(DTypePolicy.MixedBFloat16).Mode);
        Assert.Equal(LossScaleMode.None, LossScaleOptions.DefaultFor(DTypePolicy.Float32).Mode);
        Assert.Equal(LossScaleMode.None, LossScaleOptions.DefaultFor(DTypePolicy.Float16).Mode);
    }

    [Theory]
    [InlineData(1.0, 0.5, 2000, 32768.0, "GrowthFactor", "1")]
    [InlineData(2.0, 1.0, 2000, 32768.0, "BackoffFactor", "1")]
    [InlineData(2.0, 0.0, 2000, 32768.0, "BackoffFactor", "0")]
    [InlineData(2.0, 0.5, 0, 32768.0, "GrowthInterval", "0")]
    [InlineData(2.0, 0.5, 2000, 0.0, "InitialScale", "0")]
    [InlineData(2.0, 0.5, 2000, -4.0, "InitialScale", "-4")]
    public void Invalid_parameters_are_rejected_naming_the_parameter_and_value(
        double growth, double backoff, int interval, double initial, string parameter, string value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LossScaleOptions.Dynamic(initial, growth, backoff, interval));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains($"got {value}", e.Message);
    }

    [Fact]
    public void A_scaler_rejects_invalid_options_at_construction()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(new LossScaleOptions { GrowthInterval = -1 }));
    }

    [Theory]
    [InlineData("dynamic", LossScaleMode.Dynamic, 32768.0)]
    [InlineData("none", LossScaleMode.None, 1.0)]
    [InlineData("128", LossScaleMode.Fixed, 128.0)]
    public void Parse_accepts_dynamic_none_or_a_fixed_scale(string text, LossScaleMode mode, double scale)
    {
        var options = LossScaleOptions.Parse(text);
        Assert.Equal(mode, options.Mode);
        Assert.Equal(scale, options.InitialScale);
    }

    [Fact]
    public void Parse_rejects_other_text_echoing_it()
    {
        var e = Assert.Throws<FormatException>(() => LossScaleOptions.Parse("auto"));
        Assert.Contains("\"auto\"", e.Message);
    }

    [Fact]
    public void Options_round_trip_through_json()
    {
        var options = LossScaleOptions.Dynamic(1024, 4, 0.25, 10, minScale: 1);
        var back = JsonSerializer.Deserialize<LossScaleOptions>(JsonSerializer.Serialize(options));
        Assert.Equal(options, back);

        var precision = new PrecisionOptions
        {
            LossScale = LossScaleOptions.Fixed(64),
            Kernels = AmpKernelPreference.Managed,
            ModuleOverrides = new Dictionary<string, DTypePolicy> { ["fc"] = DTypePolicy.Float32 },
        };
        var json = JsonSerializer.Serialize(precision);
        Assert.Contains("\"fc\":\"float32\"", json);
        var restored = JsonSerializer.Deserialize<PrecisionOptions>(json)!;
        Assert.Equal(precision.LossScale, restored.LossScale);
        Assert.Equal(precision.Kernels, restored.Kernels);
        Assert.Equal(DTypePolicy.Float32, restored.ModuleOverrides["fc"]);
    }

    [Fact]
    public void Scaler_state_round_trips_through_json()
    {
        var state = new LossScalerState(LossScaleMode.Dynamic, 16384, 17, 3, 120);
        Assert.Equal(state, JsonSerializer.Deserialize<LossScalerState>(JsonSerializer.Serialize(state)));
    }
}
