using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The multi-threaded copy a device backend commits its stepped prior with: every value lands in place,
/// at sizes below, at and past its block size, and into a longer target without touching the rest.</summary>
public sealed class HostCopyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1 << 19)]
    [InlineData((1 << 19) + 1)]
    [InlineData(3 * (1 << 18) + 7)]
    [InlineData(4_194_304)]
    public void Copies_every_value_in_place(int length)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var source = new float[length];
        for (var i = 0; i < length; i++) source[i] = rng.NextSingle() - 0.5f;
        var target = new float[length + 5];
        target.AsSpan(length).Fill(42f);

        HostCopy.Copy(source, target);

        Assert.True(source.AsSpan().SequenceEqual(target.AsSpan(0, length)), $"seed {seed}, length {length}");
        Assert.All(target[length..], v => Assert.Equal(42f, v));
    }

    [Fact]
    public void A_target_shorter_than_the_source_is_refused_untouched()
    {
        var target = new float[3];
        var ex = Assert.Throws<ArgumentException>(() => HostCopy.Copy(new float[4], target));
        Assert.Equal("target", ex.ParamName);
        Assert.All(target, v => Assert.Equal(0f, v));
    }
}
