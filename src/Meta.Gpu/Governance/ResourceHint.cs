using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>What a <see cref="ResourceHint"/> asks of the resource profile.</summary>
public enum ResourceHintKind
{
    /// <summary>{}: leave the profile as it is.</summary>
    None = 0,

    /// <summary>{n_paths_delta (negative), sketch_dim_target}: device memory is high or an OOM happened.</summary>
    Shrink = 1,

    /// <summary>{n_paths_delta (positive), resamples_target}: memory is low and latency comfortable.</summary>
    Grow = 2,
}

/// <summary>The <c>resource_profile_hint</c> of DESIGN §5 step 7.</summary>
public readonly record struct ResourceHint(ResourceHintKind Kind, double NPathsDelta, int SketchDimTarget, int ResamplesTarget)
{
    public static ResourceHint None => default;

    public static ResourceHint Shrink(double nPathsDelta, int sketchDimTarget) => new(ResourceHintKind.Shrink, nPathsDelta, sketchDimTarget, 0);

    public static ResourceHint Grow(double nPathsDelta, int resamplesTarget) => new(ResourceHintKind.Grow, nPathsDelta, 0, resamplesTarget);

    /// <summary>Step 7: vram > vram_high or oom -> shrink; else vram &lt; vram_low and latency &lt; latency_comfort
    /// -> grow; else none.</summary>
    public static ResourceHint For(DrgPolicyConfig drg, TelemetrySnapshot telemetry)
    {
        if (telemetry.VramUtil > drg.VramHigh || telemetry.OomFlag)
            return Shrink(drg.NPathsShrink, drg.SketchDimSet[0]);
        if (telemetry.VramUtil < drg.VramLow && telemetry.LatencyMs < drg.LatencyComfort)
            // Saturating: the reference's integers do not wrap, and an int sum of two large settings would turn
            // a grow hint into a negative target.
            return Grow(drg.NPathsGrow, (int)Math.Clamp((long)telemetry.ResamplesDefault + drg.ResamplesIncrement, int.MinValue, int.MaxValue));
        return None;
    }

    /// <summary>Only the fields of the hint's kind: {} for none.</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => Kind switch
    {
        ResourceHintKind.Shrink => new JsonObject { ["n_paths_delta"] = WireJson.Number(NPathsDelta), ["sketch_dim_target"] = SketchDimTarget },
        ResourceHintKind.Grow => new JsonObject { ["n_paths_delta"] = WireJson.Number(NPathsDelta), ["resamples_target"] = ResamplesTarget },
        _ => new JsonObject(),
    };
}
