using System.Text.Json;
using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Tests.Precision;

[Collection("GlobalPolicy")]
public class DTypePolicyTests
{
    [Theory]
    [InlineData("float32", ScalarType.Float32, ScalarType.Float32, false)]
    [InlineData("float64", ScalarType.Float64, ScalarType.Float64, false)]
    [InlineData("float16", ScalarType.Float16, ScalarType.Float16, false)]
    [InlineData("bfloat16", ScalarType.BFloat16, ScalarType.BFloat16, false)]
    [InlineData("mixed_float16", ScalarType.Float16, ScalarType.Float32, true)]
    [InlineData("mixed_bfloat16", ScalarType.BFloat16, ScalarType.Float32, true)]
    public void Parse_maps_each_name_to_its_compute_and_variable_dtypes(string name, ScalarType compute, ScalarType variable, bool mixed)
    {
        var policy = DTypePolicy.Parse(name);
        Assert.Equal(name, policy.Name);
        Assert.Equal(compute, policy.ComputeDType);
        Assert.Equal(variable, policy.VariableDType);
        Assert.Equal(mixed, policy.IsMixed);
    }

    [Fact]
    public void Parse_ignores_case_and_surrounding_spaces()
    {
        Assert.Same(DTypePolicy.MixedBFloat16, DTypePolicy.Parse("  Mixed_BFloat16 "));
    }

    [Fact]
    public void Unknown_name_error_echoes_the_input_and_lists_every_valid_name()
    {
        var e = Assert.Throws<ArgumentException>(() => DTypePolicy.Parse("mixed_half"));
        Assert.Contains("\"mixed_half\"", e.Message);
        foreach (var name in DTypePolicy.Names)
        {
            Assert.Contains(name, e.Message);
        }
    }

    [Fact]
    public void Policies_with_the_same_name_are_equal_and_others_are_not()
    {
        Assert.Equal(DTypePolicy.Parse("mixed_float16"), DTypePolicy.MixedFloat16);
        Assert.True(DTypePolicy.Parse("float32") == DTypePolicy.Float32);
        Assert.NotEqual(DTypePolicy.MixedFloat16, DTypePolicy.Float16);
        Assert.Equal(DTypePolicy.MixedFloat16.GetHashCode(), DTypePolicy.Parse("mixed_float16").GetHashCode());
    }

    [Fact]
    public void ToString_names_the_policy_and_both_dtypes()
    {
        Assert.Equal("<DTypePolicy \"mixed_float16\" compute=Float16 variables=Float32>", DTypePolicy.MixedFloat16.ToString());
    }

    [Fact]
    public void Json_round_trip_writes_the_name_and_reads_the_same_policy()
    {
        foreach (var policy in DTypePolicy.All)
        {
            string json = JsonSerializer.Serialize(policy);
            Assert.Equal($"\"{policy.Name}\"", json);
            Assert.Equal(policy, JsonSerializer.Deserialize<DTypePolicy>(json));
        }
    }

    [Fact]
    public void Json_with_an_unknown_name_fails_listing_the_valid_names()
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<DTypePolicy>("\"int8\""));
        Assert.Contains("int8", e.Message);
        Assert.Contains("mixed_bfloat16", e.Message);
    }

    [Fact]
    public void Global_policy_defaults_to_float32_and_a_scope_restores_the_previous_one()
    {
        Assert.Equal(DTypePolicy.Float32, DTypePolicy.Global);
        using (DTypePolicy.Use("mixed_float16"))
        {
            Assert.Equal(DTypePolicy.MixedFloat16, DTypePolicy.Global);
            using (DTypePolicy.Use(DTypePolicy.BFloat16))
            {
                Assert.Equal(DTypePolicy.BFloat16, DTypePolicy.Global);
            }

            Assert.Equal(DTypePolicy.MixedFloat16, DTypePolicy.Global);
        }

        Assert.Equal(DTypePolicy.Float32, DTypePolicy.Global);
    }

    [Fact]
    public void A_strategy_created_without_a_policy_uses_the_global_one()
    {
        using (DTypePolicy.Use("mixed_bfloat16"))
        {
            using var strategy = PrecisionStrategy.Create();
            Assert.Equal(DTypePolicy.MixedBFloat16, strategy.Policy);
            Assert.IsType<MixedPrecisionStrategy>(strategy);
        }
    }
}
