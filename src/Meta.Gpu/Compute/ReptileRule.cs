namespace Meta.Gpu.Compute;

/// <summary>The Reptile update rule (DESIGN §8 (d)).</summary>
public enum ReptileRule
{
    /// <summary>prior += beta * (v - prior): the seed's Reptile step (default).</summary>
    Interpolate,

    /// <summary>prior += beta * v: the reference's rule, where v is already a delta.</summary>
    Delta,
}

/// <summary>One Reptile step's settings for the dense prior.</summary>
public readonly record struct ReptileStep(ReptileRule Rule, double Beta);
