using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// The governed engine's resource profile (DESIGN §6): what the supervisor publishes on <c>resource_profile</c>
/// and moves by the layer's hints. The defaults are the initial profile (n_paths is then capped at the DRG's
/// n_paths_max by the supervisor, D6).
/// </summary>
public sealed record ResourceProfile
{
    public static ResourceProfile Initial { get; } = new();

    /// <summary><c>n_paths</c>, default 200, >= 1.</summary>
    public int NPaths { get; init; } = 200;

    /// <summary><c>precision</c>, default "fp16".</summary>
    public string Precision { get; init; } = "fp16";

    /// <summary><c>sketch_dim</c>, default 512, >= 1.</summary>
    public int SketchDim { get; init; } = 512;

    /// <summary><c>window_size</c>, default 256, >= 1.</summary>
    public int WindowSize { get; init; } = 256;

    /// <summary><c>resamples</c>, default 8, >= 1.</summary>
    public int Resamples { get; init; } = 8;

    /// <summary><c>export_interval</c>, default 10, >= 1.</summary>
    public int ExportInterval { get; init; } = 10;

    /// <summary><c>branch_width</c>, default 1, >= 1.</summary>
    public int BranchWidth { get; init; } = 1;

    /// <summary><c>tier2_enabled</c>, default true: follows the layer's knob (D5).</summary>
    public bool Tier2Enabled { get; init; } = true;

    /// <summary><c>tier3_topk</c>, default 5, >= 0: follows the layer's knob (D5).</summary>
    public int Tier3TopK { get; init; } = 5;

    /// <summary>
    /// The profile after an update (DESIGN §6). With an n_paths delta: n = current, t = trunc(n * (1 + delta));
    /// grow (delta > 0) max(n + 1, t), shrink min(n - 1, t), then clamped to [1, n_paths_max] (D4: a resize moves
    /// at least one path). A shrink hint sets sketch_dim, a grow hint resamples (at least 1); the tier fields
    /// take the knobs' values (D5).
    /// </summary>
    public ResourceProfile After(ResourceHint hint, in KnobVector knobs, int nPathsMax)
    {
        var profile = this with { Tier2Enabled = knobs.Tier2Enabled, Tier3TopK = knobs.Tier3TopK };
        if (hint.Kind == ResourceHintKind.None) return profile;

        var n = NPaths;
        var scaled = Math.Truncate(n * (1.0 + hint.NPathsDelta));
        var target = double.IsNaN(scaled) ? n : (long)Math.Clamp(scaled, int.MinValue, int.MaxValue);
        long resized = hint.NPathsDelta > 0 ? Math.Max(n + 1L, target) : Math.Min(n - 1L, target);
        profile = profile with { NPaths = (int)Math.Clamp(resized, 1, Math.Max(1, nPathsMax)) };
        return hint.Kind == ResourceHintKind.Shrink
            ? profile with { SketchDim = hint.SketchDimTarget }
            : profile with { Resamples = Math.Max(1, hint.ResamplesTarget) };
    }

    /// <summary>Reads a profile; a partial one takes the defaults for what it omits; unknown keys and values out
    /// of range are errors naming the field.</summary>
    public static ResourceProfile FromJson(JsonObject? json, string path = "profile")
    {
        if (json is null) return Initial;
        JsonRead.RequireKnownKeys(json, path, "n_paths", "precision", "sketch_dim", "window_size", "resamples",
            "export_interval", "branch_width", "tier2_enabled", "tier3_topk");
        var d = Initial;
        var profile = new ResourceProfile
        {
            NPaths = JsonRead.SettingInt(json, "n_paths", d.NPaths, path),
            Precision = JsonRead.String(json, "precision", d.Precision, path),
            SketchDim = JsonRead.SettingInt(json, "sketch_dim", d.SketchDim, path),
            WindowSize = JsonRead.SettingInt(json, "window_size", d.WindowSize, path),
            Resamples = JsonRead.SettingInt(json, "resamples", d.Resamples, path),
            ExportInterval = JsonRead.SettingInt(json, "export_interval", d.ExportInterval, path),
            BranchWidth = JsonRead.SettingInt(json, "branch_width", d.BranchWidth, path),
            Tier2Enabled = JsonRead.Bool(json, "tier2_enabled", d.Tier2Enabled, path),
            Tier3TopK = JsonRead.SettingInt(json, "tier3_topk", d.Tier3TopK, path),
        };
        profile.Validate(path);
        return profile;
    }

    /// <summary>Throws an <see cref="InvalidInputException"/> naming the first field out of range.</summary>
    public void Validate(string path = "profile")
    {
        ConfigCheck.AtLeast(NPaths, 1, $"{path}.n_paths");
        if (string.IsNullOrWhiteSpace(Precision)) throw new InvalidInputException($"{path}.precision: must not be empty");
        ConfigCheck.AtLeast(SketchDim, 1, $"{path}.sketch_dim");
        ConfigCheck.AtLeast(WindowSize, 1, $"{path}.window_size");
        ConfigCheck.AtLeast(Resamples, 1, $"{path}.resamples");
        ConfigCheck.AtLeast(ExportInterval, 1, $"{path}.export_interval");
        ConfigCheck.AtLeast(BranchWidth, 1, $"{path}.branch_width");
        ConfigCheck.AtLeast(Tier3TopK, 0, $"{path}.tier3_topk");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["n_paths"] = NPaths,
        ["precision"] = Precision,
        ["sketch_dim"] = SketchDim,
        ["window_size"] = WindowSize,
        ["resamples"] = Resamples,
        ["export_interval"] = ExportInterval,
        ["branch_width"] = BranchWidth,
        ["tier2_enabled"] = Tier2Enabled,
        ["tier3_topk"] = Tier3TopK,
    };
}
