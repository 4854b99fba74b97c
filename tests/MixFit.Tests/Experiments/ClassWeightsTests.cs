using MixFit.Experiments;

namespace MixFit.Tests.Experiments;

public class ClassWeightsTests
{
    [Fact]
    public void Balanced_weights_are_samples_over_classes_times_count()
    {
        var weights = ClassWeights.Parse("balanced").Resolve(new long[] { 10, 30, 0, 60 });
        // 100 samples over 3 present classes: 100 / (3 * count); the absent class gets no entry (weight 1).
        Assert.Equal(100.0 / 30, weights[0], 12);
        Assert.Equal(100.0 / 90, weights[1], 12);
        Assert.False(weights.ContainsKey(2));
        Assert.Equal(100.0 / 180, weights[3], 12);
    }

    [Fact]
    public void Explicit_pairs_parse_and_bad_ones_say_what_is_wrong()
    {
        var parsed = ClassWeights.Parse(" 6 = 2.5, 0=1 ");
        Assert.Equal("0=1,6=2.5", parsed.Text);
        Assert.Equal(2.5, parsed.Resolve(new long[10])[6]);

        Assert.Contains("\"3=x\" is not a class=weight pair", Assert.Throws<ArgumentException>(() => ClassWeights.Parse("3=x")).Message);
        Assert.Contains("class 3 is given twice", Assert.Throws<ArgumentException>(() => ClassWeights.Parse("3=2,3=4")).Message);
        Assert.Contains("every named class weight 0", Assert.Throws<ArgumentException>(() => ClassWeights.Parse("0=0,1=0")).Message);
        Assert.Contains("names no class", Assert.Throws<ArgumentException>(() => ClassWeights.Parse(",")).Message);
        var missing = Assert.Throws<ArgumentException>(() => ClassWeights.Parse("99=2").Resolve(new long[10]));
        Assert.Contains("--class-weight names class 99, but the data has 10 classes (0..9)", missing.Message);
    }
}
