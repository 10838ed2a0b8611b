using System.Collections.Immutable;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary><c>drg_policy</c> (DESIGN §5 steps 5 and 7, §6): load thresholds and the resource-profile hint.</summary>
public sealed record DrgPolicyConfig
{
    public static DrgPolicyConfig Default { get; } = new();

    /// <summary><c>sketch_dim_set</c>, default [512, 1024, 2048]: non-empty, positive; a shrink hint targets the first.</summary>
    public ImmutableArray<int> SketchDimSet { get; init; } = [512, 1024, 2048];

    /// <summary><c>n_paths_max</c>, default 128, >= 1: the supervisor's profile never has more paths.</summary>
    public int NPathsMax { get; init; } = 128;

    /// <summary><c>vram_high</c>, default 0.85: device memory above it is load (and a shrink hint).</summary>
    public double VramHigh { get; init; } = 0.85;

    /// <summary><c>vram_low</c>, default 0.55: below it (with comfortable latency) the hint grows.</summary>
    public double VramLow { get; init; } = 0.55;

    /// <summary><c>latency_comfort</c> (ms), default 100.</summary>
    public double LatencyComfort { get; init; } = 100;

    /// <summary><c>latency_high</c> (ms), default 120: latency above it is load.</summary>
    public double LatencyHigh { get; init; } = 120;

    /// <summary><c>n_paths_shrink</c>, default -0.15, in [-1, 0): the relative n_paths change of a shrink hint.</summary>
    public double NPathsShrink { get; init; } = -0.15;

    /// <summary><c>n_paths_grow</c>, default 0.10, > 0: the relative n_paths change of a grow hint.</summary>
    public double NPathsGrow { get; init; } = 0.10;

    /// <summary><c>resamples_increment</c>, default 2, >= 0: a grow hint targets resamples_default + this.</summary>
    public int ResamplesIncrement { get; init; } = 2;

    /// <summary>Value equality with <c>sketch_dim_set</c> compared by its sizes: an ImmutableArray compares by
    /// reference, so two configurations read from the same JSON were unequal. Every other property compares as
    /// the record would (a test checks that each one counts).</summary>
    public bool Equals(DrgPolicyConfig? other) =>
        other is not null
        && SketchDimSet.AsSpan().SequenceEqual(other.SketchDimSet.AsSpan())
        && NPathsMax == other.NPathsMax
        && VramHigh.Equals(other.VramHigh)
        && VramLow.Equals(other.VramLow)
        && LatencyComfort.Equals(other.LatencyComfort)
        && LatencyHigh.Equals(other.LatencyHigh)
        && NPathsShrink.Equals(other.NPathsShrink)
        && NPathsGrow.Equals(other.NPathsGrow)
        && ResamplesIncrement == other.ResamplesIncrement;

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var size in SketchDimSet.AsSpan()) hash.Add(size);
        hash.Add(NPathsMax);
        hash.Add(VramHigh);
        hash.Add(VramLow);
        hash.Add(LatencyComfort);
        hash.Add(LatencyHigh);
        hash.Add(NPathsShrink);
        hash.Add(NPathsGrow);
        hash.Add(ResamplesIncrement);
        return hash.ToHashCode();
    }

    internal static DrgPolicyConfig FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "sketch_dim_set", "n_paths_max", "vram_high", "vram_low", "latency_comfort",
            "latency_high", "n_paths_shrink", "n_paths_grow", "resamples_increment");
        var d = Default;
        var sketch = d.SketchDimSet;
        if (json["sketch_dim_set"] is { } node)
        {
            var field = JsonRead.Join(path, "sketch_dim_set");
            var values = JsonRead.SettingArray(node, field);
            var builder = ImmutableArray.CreateBuilder<int>(values.Length);
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] != Math.Floor(values[i]) || values[i] < 1 || values[i] > int.MaxValue)
                    throw new InvalidInputException($"{field}[{i}]: expected a positive integer, got {ConfigCheck.Show(values[i])}");
                builder.Add((int)values[i]);
            }
            sketch = builder.MoveToImmutable();
        }
        return new DrgPolicyConfig
        {
            SketchDimSet = sketch,
            NPathsMax = JsonRead.SettingInt(json, "n_paths_max", d.NPathsMax, path),
            VramHigh = JsonRead.Setting(json, "vram_high", d.VramHigh, path),
            VramLow = JsonRead.Setting(json, "vram_low", d.VramLow, path),
            LatencyComfort = JsonRead.Setting(json, "latency_comfort", d.LatencyComfort, path),
            LatencyHigh = JsonRead.Setting(json, "latency_high", d.LatencyHigh, path),
            NPathsShrink = JsonRead.Setting(json, "n_paths_shrink", d.NPathsShrink, path),
            NPathsGrow = JsonRead.Setting(json, "n_paths_grow", d.NPathsGrow, path),
            ResamplesIncrement = JsonRead.SettingInt(json, "resamples_increment", d.ResamplesIncrement, path),
        };
    }

    internal void Validate(string path)
    {
        if (SketchDimSet.IsDefaultOrEmpty) throw new InvalidInputException($"{path}.sketch_dim_set: must list at least one size");
        for (var i = 0; i < SketchDimSet.Length; i++)
            ConfigCheck.AtLeast(SketchDimSet[i], 1, $"{path}.sketch_dim_set[{i}]");
        ConfigCheck.AtLeast(NPathsMax, 1, $"{path}.n_paths_max");
        ConfigCheck.Finite(VramHigh, $"{path}.vram_high");
        ConfigCheck.Finite(VramLow, $"{path}.vram_low");
        if (VramLow > VramHigh)
            throw new InvalidInputException($"{path}.vram_low: {ConfigCheck.Show(VramLow)} is above vram_high {ConfigCheck.Show(VramHigh)}");
        ConfigCheck.NonNegative(LatencyComfort, $"{path}.latency_comfort");
        ConfigCheck.NonNegative(LatencyHigh, $"{path}.latency_high");
        ConfigCheck.Finite(NPathsShrink, $"{path}.n_paths_shrink");
        if (NPathsShrink < -1 || NPathsShrink >= 0)
            throw new InvalidInputException($"{path}.n_paths_shrink: must be in [-1, 0), got {ConfigCheck.Show(NPathsShrink)}");
        ConfigCheck.Positive(NPathsGrow, $"{path}.n_paths_grow");
        ConfigCheck.AtLeast(ResamplesIncrement, 0, $"{path}.resamples_increment");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson()
    {
        var sketch = new JsonArray();
        foreach (var size in SketchDimSet.AsSpan()) sketch.Add(size);
        return new JsonObject
        {
            ["sketch_dim_set"] = sketch,
            ["n_paths_max"] = NPathsMax,
            ["vram_high"] = VramHigh,
            ["vram_low"] = VramLow,
            ["latency_comfort"] = LatencyComfort,
            ["latency_high"] = LatencyHigh,
            ["n_paths_shrink"] = NPathsShrink,
            ["n_paths_grow"] = NPathsGrow,
            ["resamples_increment"] = ResamplesIncrement,
        };
    }
}
