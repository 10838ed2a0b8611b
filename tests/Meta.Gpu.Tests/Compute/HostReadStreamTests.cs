using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The host read stream that both benchmark harnesses take as their bandwidth reference reads every element once:
/// its sum is exact on small integers at lengths around the vector widths and the 4 MB chunks, and its copy writes
/// every element (a reference that skipped a tail or a chunk would report a bandwidth for less than it read).
/// </summary>
public sealed class HostReadStreamTests
{
    public static TheoryData<int> Lengths => [0, 1, 15, 63, 64, 65, 1000, HostReadStream.Chunk - 1, HostReadStream.Chunk + 37, 3 * HostReadStream.Chunk + 5];

    private static float[] SmallIntegers(int length)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++) values[i] = 1 + i % 7;
        return values;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void The_sum_reads_every_element_once(int length)
    {
        var values = SmallIntegers(length);
        var expected = 0L;
        for (var i = 0; i < length; i++) expected += 1 + i % 7;
        Assert.Equal(expected, HostReadStream.Sum(values));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void The_copy_writes_every_element(int length)
    {
        var source = SmallIntegers(length);
        var target = new float[length];
        Array.Fill(target, -1f);
        HostReadStream.Copy(source, target);
        Assert.Equal(source, target);
    }

    [Fact]
    public void A_copy_into_an_array_of_another_length_is_refused_and_writes_nothing()
    {
        var target = new float[10];
        var e = Assert.Throws<ArgumentException>(() => HostReadStream.Copy(SmallIntegers(11), target));
        Assert.Equal("target", e.ParamName);
        Assert.Contains("target holds 10 floats, source 11", e.Message, StringComparison.Ordinal);
        Assert.All(target, v => Assert.Equal(0f, v));
    }
}
