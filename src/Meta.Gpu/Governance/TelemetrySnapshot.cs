using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// One reading of the governed engine's telemetry (DESIGN §5): the input of <see cref="MetaIntegrativeLayer.Update"/>.
/// Every field has the documented default. Reuse one instance (or <c>with</c> copies) in a hot loop: the layer
/// reads it and keeps nothing.
/// </summary>
public sealed record TelemetrySnapshot
{
    public static TelemetrySnapshot Default { get; } = new();

    /// <summary><c>accept_rate</c>, default 0.</summary>
    public double AcceptRate { get; init; }

    /// <summary><c>stability_avg</c> (alias <c>stability_mean</c>), default 0.</summary>
    public double StabilityAvg { get; init; }

    /// <summary><c>rcl_contrast</c>, default 0.</summary>
    public double RclContrast { get; init; }

    /// <summary><c>latency_ms</c>, default 0.</summary>
    public double LatencyMs { get; init; }

    /// <summary><c>vram_util</c> (share of device memory in use, in [0, 1]: <see cref="CheckReadings"/>), default 0; from JSON, when absent and
    /// <c>vram_high</c> is given: 1 when true, else 0.</summary>
    public double VramUtil { get; init; }

    /// <summary><c>oom_flag</c>, default false.</summary>
    public bool OomFlag { get; init; }

    /// <summary><c>gain_p50</c>, default 0.</summary>
    public double GainP50 { get; init; }

    /// <summary><c>gain_prev</c>; null means "the same as <see cref="GainP50"/>" (the default).</summary>
    public double? GainPrev { get; init; }

    /// <summary><c>accept_low_windows</c>: consecutive windows with a low accept rate, default 0.</summary>
    public int AcceptLowWindows { get; init; }

    /// <summary><c>ci_width</c>, default 0.</summary>
    public double CiWidth { get; init; }

    /// <summary><c>ci_width_target</c>, default 0.1.</summary>
    public double CiWidthTarget { get; init; } = 0.1;

    /// <summary><c>resamples_default</c>, default 10: the base of a grow hint's resamples_target.</summary>
    public int ResamplesDefault { get; init; } = 10;

    /// <summary>The gain the exploitation rule compares with: <see cref="GainPrev"/>, else <see cref="GainP50"/>.</summary>
    public double EffectiveGainPrev => GainPrev ?? GainP50;

    /// <summary>
    /// Reads a snapshot leniently: a missing or null field takes its default, booleans may be 0/1, numbers may be
    /// "nan"/"inf"/"-inf"; unknown fields are ignored (engines report more than the layer reads). A field of the
    /// wrong type is an <see cref="InvalidInputException"/> naming it.
    /// </summary>
    public static TelemetrySnapshot FromJson(JsonObject json, string path = "")
    {
        ArgumentNullException.ThrowIfNull(json);
        var stability = JsonRead.OptionalDouble(json, "stability_avg", path);
        if (stability is null)
        {
            // The alias's reading is refused under its own name: CheckFinite can only name stability_avg.
            stability = JsonRead.Double(json, "stability_mean", 0.0, path);
            JsonRead.RequireFinite(stability, JsonRead.Join(path, "stability_mean"));
        }
        var vram = JsonRead.OptionalDouble(json, "vram_util", path)
            ?? (JsonRead.Bool(json, "vram_high", false, path) ? 1.0 : 0.0);
        return new TelemetrySnapshot
        {
            AcceptRate = JsonRead.Double(json, "accept_rate", 0.0, path),
            StabilityAvg = stability.Value,
            RclContrast = JsonRead.Double(json, "rcl_contrast", 0.0, path),
            LatencyMs = JsonRead.Double(json, "latency_ms", 0.0, path),
            VramUtil = vram,
            OomFlag = JsonRead.Bool(json, "oom_flag", false, path),
            GainP50 = JsonRead.Double(json, "gain_p50", 0.0, path),
            GainPrev = JsonRead.OptionalDouble(json, "gain_prev", path),
            AcceptLowWindows = JsonRead.Int(json, "accept_low_windows", 0, path),
            CiWidth = JsonRead.Double(json, "ci_width", 0.0, path),
            CiWidthTarget = JsonRead.Double(json, "ci_width_target", 0.1, path),
            ResamplesDefault = JsonRead.Int(json, "resamples_default", 10, path),
        };
    }

    /// <summary>
    /// Throws an <see cref="InvalidInputException"/> naming the first field that is NaN or infinite (under
    /// <paramref name="path"/>). <see cref="MetaIntegrativeLayer.Update"/> refuses such a reading before it changes
    /// anything: one NaN reward would stay in the reward's average for good (EMA = (1-a)·EMA + a·NaN), and with it
    /// the exploration and rollback tests would never fire again.
    /// </summary>
    public void CheckFinite(string path = "")
    {
        Check(AcceptRate, "accept_rate");
        Check(StabilityAvg, "stability_avg");
        Check(RclContrast, "rcl_contrast");
        Check(LatencyMs, "latency_ms");
        Check(VramUtil, "vram_util");
        Check(GainP50, "gain_p50");
        Check(GainPrev, "gain_prev");
        Check(CiWidth, "ci_width");
        Check(CiWidthTarget, "ci_width_target");

        void Check(double? value, string key) => JsonRead.RequireFinite(value, JsonRead.Join(path, key));
    }

    /// <summary>
    /// <see cref="CheckFinite"/>, then refuses a <see cref="VramUtil"/> outside [0, 1], naming it: it is a share of
    /// device memory in use (DESIGN §13: used / total), and one outside the share is no reading (a percentage sent
    /// as 85 clipped every reward to its floor and kept the engine under load; a negative one paid for memory).
    /// <see cref="MetaIntegrativeLayer.Update"/> refuses such a reading before it changes anything.
    /// </summary>
    public void CheckReadings(string path = "")
    {
        CheckFinite(path);
        RequireShare(VramUtil, JsonRead.Join(path, "vram_util"));
    }

    /// <summary>Refuses, under <paramref name="path"/>, a finite memory share outside [0, 1] (either end is a share).</summary>
    internal static void RequireShare(double? value, string path)
    {
        if (value is { } v && double.IsFinite(v) && v is < 0.0 or > 1.0)
            throw new InvalidInputException($"{path}: {ConfigCheck.Show(v)} is outside [0, 1] (a share of device memory in use)");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["accept_rate"] = WireJson.Number(AcceptRate),
        ["stability_avg"] = WireJson.Number(StabilityAvg),
        ["rcl_contrast"] = WireJson.Number(RclContrast),
        ["latency_ms"] = WireJson.Number(LatencyMs),
        ["vram_util"] = WireJson.Number(VramUtil),
        ["oom_flag"] = OomFlag,
        ["gain_p50"] = WireJson.Number(GainP50),
        ["gain_prev"] = WireJson.Number(EffectiveGainPrev),
        ["accept_low_windows"] = AcceptLowWindows,
        ["ci_width"] = WireJson.Number(CiWidth),
        ["ci_width_target"] = WireJson.Number(CiWidthTarget),
        ["resamples_default"] = ResamplesDefault,
    };
}
