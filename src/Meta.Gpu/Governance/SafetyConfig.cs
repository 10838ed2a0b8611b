using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary><c>safety</c> (DESIGN §5 steps 8 and 9): rollback threshold, cooldowns and history length.</summary>
public sealed record SafetyConfig
{
    public static SafetyConfig Default { get; } = new();

    /// <summary><c>rollback_delta</c>, default 0.1, >= 0: a fall of the reward EMA by more than this since the
    /// previous call rolls the knobs back.</summary>
    public double RollbackDelta { get; init; } = 0.1;

    /// <summary><c>cooldown_cycles</c>, default 5, 0 to 1,073,741,823 (twice it must fit an int): cycles a changed
    /// knob waits (twice that after a rollback).</summary>
    public int CooldownCycles { get; init; } = 5;

    /// <summary><c>max_history</c>, default 10, 1 to 1,000,000: history entries kept (the ring is allocated up front,
    /// about 200 B an entry).</summary>
    public int MaxHistory { get; init; } = 10;

    internal static SafetyConfig FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "rollback_delta", "cooldown_cycles", "max_history");
        var d = Default;
        return new SafetyConfig
        {
            RollbackDelta = JsonRead.Setting(json, "rollback_delta", d.RollbackDelta, path),
            CooldownCycles = JsonRead.SettingInt(json, "cooldown_cycles", d.CooldownCycles, path),
            MaxHistory = JsonRead.SettingInt(json, "max_history", d.MaxHistory, path),
        };
    }

    internal void Validate(string path)
    {
        ConfigCheck.NonNegative(RollbackDelta, $"{path}.rollback_delta");
        ConfigCheck.AtLeast(CooldownCycles, 0, $"{path}.cooldown_cycles");
        // Twice the cooldown must still fit an int (D2).
        if (CooldownCycles > int.MaxValue / 2) throw new InvalidInputException($"{path}.cooldown_cycles: must be <= {int.MaxValue / 2}, got {CooldownCycles}");
        ConfigCheck.AtLeast(MaxHistory, 1, $"{path}.max_history");
        if (MaxHistory > 1_000_000) throw new InvalidInputException($"{path}.max_history: must be <= 1000000, got {MaxHistory}");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["rollback_delta"] = RollbackDelta,
        ["cooldown_cycles"] = CooldownCycles,
        ["max_history"] = MaxHistory,
    };
}
