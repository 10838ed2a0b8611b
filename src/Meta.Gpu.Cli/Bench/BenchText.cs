using System.Globalization;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Short human forms of figures, shared by the progress lines and bench.md.</summary>
public static class BenchText
{
    public static string Describe(BenchResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var head = $"{r.Workload} {r.Backend} n={r.N} d={r.D}";
        if (r.Skipped is not null) return $"{head}: skipped ({r.Skipped})";
        var text = $"{head}: median {Ms(r.MedianMs)} ms (min {Ms(r.MinMs)}, max {Ms(r.MaxMs)})";
        if (r.Gbs is { } g) text += $", {g.ToString("0.00", CultureInfo.InvariantCulture)} GB/s";
        if (r.OpsPerS is { } ops) text += $", {Count(ops)}/s";
        if (r.AllocatedBytesPerOp is { } a) text += $", {a.ToString("0.###", CultureInfo.InvariantCulture)} B/op";
        if (r.Lost is { } lost) text += $", lost {lost}";
        if (r.Agrees is { } agrees) text += agrees ? $", agrees with {r.CheckedAgainst}" : $", DISAGREES with {r.CheckedAgainst}: {r.Agreement}";
        else if (r.Agreement is { } why) text += $", {why}";
        return text;
    }

    public static string Ms(double? ms) => ms switch
    {
        null => "-",
        < 0.01 => ms.Value.ToString("0.000000", CultureInfo.InvariantCulture),
        < 10 => ms.Value.ToString("0.000", CultureInfo.InvariantCulture),
        _ => ms.Value.ToString("0.0", CultureInfo.InvariantCulture),
    };

    public static string Count(double value) => value switch
    {
        >= 1e6 => (value / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (value / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + "k",
        _ => value.ToString("0.#", CultureInfo.InvariantCulture),
    };
}
