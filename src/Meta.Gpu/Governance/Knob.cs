namespace Meta.Gpu.Governance;

/// <summary>
/// The six knobs the governance layer adjusts (DESIGN §5), in the order they appear in every payload. The
/// numeric value of each member indexes <see cref="KnobVector"/> and <see cref="CooldownVector"/>.
/// </summary>
public enum Knob
{
    /// <summary><c>tau</c>: the controller temperature.</summary>
    Tau = 0,

    /// <summary><c>gamma_diversity</c>: the diversity weight.</summary>
    GammaDiversity = 1,

    /// <summary><c>g_min</c>: the minimum gain to accept a candidate.</summary>
    GMin = 2,

    /// <summary><c>lambda_ci</c>: the confidence-interval weight.</summary>
    LambdaCi = 3,

    /// <summary><c>tier2_enabled</c>: operator tier 2 on/off (1/0 in a <see cref="KnobVector"/>).</summary>
    Tier2Enabled = 4,

    /// <summary><c>tier3_topk</c>: how many top candidates operator tier 3 examines (0 = off).</summary>
    Tier3TopK = 5,
}

/// <summary>Wire names and bit masks of the knobs.</summary>
public static class Knobs
{
    /// <summary>How many knobs there are.</summary>
    public const int Count = 6;

    /// <summary>Every knob, in payload order.</summary>
    public static ReadOnlySpan<Knob> All => [Knob.Tau, Knob.GammaDiversity, Knob.GMin, Knob.LambdaCi, Knob.Tier2Enabled, Knob.Tier3TopK];

    private static readonly string[] WireNames = ["tau", "gamma_diversity", "g_min", "lambda_ci", "tier2_enabled", "tier3_topk"];

    /// <summary>The snake_case name used in state, <c>knobs</c> and <c>cooldowns</c>.</summary>
    public static string WireName(this Knob knob) => WireNames[(int)knob];

    /// <summary>The bit of <paramref name="knob"/> in a knob mask.</summary>
    public static int Bit(this Knob knob) => 1 << (int)knob;

    /// <summary>True when the knob holds a number (tau, gamma_diversity, g_min, lambda_ci) rather than an operator tier.</summary>
    public static bool IsNumeric(this Knob knob) => knob <= Knob.LambdaCi;
}
