namespace Meta.Gpu.Learning.Aggregation;

/// <summary>The outcome of DESIGN §4 step 1 for one update: eligible, or the first rule it breaks.</summary>
public enum UpdateEligibility
{
    Eligible,

    /// <summary>No keys / no present cell (<c>rejected_empty</c>).</summary>
    Empty,

    /// <summary>A (present) value is NaN or infinite (<c>rejected_nonfinite</c>).</summary>
    NonFinite,

    /// <summary>Confidence non-finite or below <c>min_confidence</c> (<c>rejected_low_confidence</c>).</summary>
    LowConfidence,
}

/// <summary>The eligibility rule of DESIGN §4 step 1, shared by the keyed reference and the dense engine.</summary>
public static class EligibilityRule
{
    /// <summary>The first rule broken, in the design's order: empty, non-finite, low confidence (equal to the
    /// minimum is kept).</summary>
    public static UpdateEligibility Classify(int presentCells, bool hasNonFinite, double confidence, double minConfidence)
    {
        if (presentCells == 0) return UpdateEligibility.Empty;
        if (hasNonFinite) return UpdateEligibility.NonFinite;
        if (!double.IsFinite(confidence) || confidence < minConfidence) return UpdateEligibility.LowConfidence;
        return UpdateEligibility.Eligible;
    }
}
