namespace Meta.Gpu.Kernels.Tests;

/// <summary>DESIGN §13: backends agree with the float64 reference within 1e-4 abs + 1e-4 rel; NaN only
/// where the reference is NaN.</summary>
internal static class Tolerance
{
    public static void Agree(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]) || double.IsNaN(actual[i]))
            {
                Assert.True(double.IsNaN(expected[i]) && double.IsNaN(actual[i]), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
                continue;
            }
            var limit = 1e-4 + 1e-4 * Math.Abs(expected[i]);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= limit, $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    public static void Agree(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        var e = new double[expected.Length];
        var a = new double[actual.Length];
        for (var i = 0; i < e.Length; i++) e[i] = expected[i];
        for (var i = 0; i < a.Length; i++) a[i] = actual[i];
        Agree(e, a, what);
    }
}
