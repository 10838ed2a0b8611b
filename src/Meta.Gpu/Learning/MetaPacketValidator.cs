using Meta.Gpu.Compute.Cpu;

namespace Meta.Gpu.Learning;

/// <summary>
/// Decides whether a domain update may become pending (DESIGN §12). <see cref="Validate"/> lists every rule the
/// update breaks, by name, in the design's order; <see cref="ValidateUpdate"/> is true when it breaks none.
/// </summary>
public sealed class MetaPacketValidator
{
    /// <summary>Confidence non-finite, outside [0, 1], or below min_confidence (equal passes).</summary>
    public const string Confidence = "confidence";

    /// <summary>More keys than max_keys (keyed updates only).</summary>
    public const string TooManyKeys = "too_many_keys";

    /// <summary>Keys and vector of different lengths.</summary>
    public const string LengthMismatch = "length_mismatch";

    /// <summary>A key repeated.</summary>
    public const string DuplicateKeys = "duplicate_keys";

    /// <summary>score_delta non-finite or |score_delta| &gt; max_score_delta.</summary>
    public const string ScoreDelta = "score_delta";

    /// <summary>A vector value NaN or infinite.</summary>
    public const string NonFinite = "non_finite";

    /// <summary>The rule names in the order <see cref="Validate"/> reports them.</summary>
    public static IReadOnlyList<string> RuleOrder { get; } = [Confidence, TooManyKeys, LengthMismatch, DuplicateKeys, ScoreDelta, NonFinite];

    public MetaPacketValidator(ValidatorConfig? config = null)
    {
        Config = (config ?? ValidatorConfig.Default).Validated();
    }

    public ValidatorConfig Config { get; }

    /// <summary>True when <paramref name="update"/> breaks no rule.</summary>
    public bool ValidateUpdate(DomainMetaUpdate update) => Validate(update).Count == 0;

    /// <summary>Every rule <paramref name="update"/> breaks, in the design's order (empty when valid).</summary>
    public IReadOnlyList<string> Validate(DomainMetaUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        // A DomainMetaUpdate is keyed (§7): null keys read as none, as a null vector reads as empty (its values are a
        // length mismatch), never as the dense form, which would skip the key rules.
        return ValidateParts(update.Confidence, update.Keys ?? [], update.Vector, update.ScoreDelta);
    }

    /// <summary>
    /// The rules over an update's parts. <paramref name="keys"/> null means a dense update (DESIGN §10): the key
    /// rules (too_many_keys, length_mismatch, duplicate_keys) do not apply to it. The validator reports, it does
    /// not throw: a null vector reads as empty (a length mismatch when keys are given).
    /// </summary>
    public IReadOnlyList<string> ValidateParts(double confidence, IReadOnlyList<string>? keys, ReadOnlySpan<float> vector, double scoreDelta)
    {
        var broken = new List<string>(2);
        if (!double.IsFinite(confidence) || confidence < 0 || confidence > 1 || confidence < Config.MinConfidence)
            broken.Add(Confidence);
        if (keys is not null)
        {
            if (keys.Count > Config.MaxKeys) broken.Add(TooManyKeys);
            if (keys.Count != vector.Length) broken.Add(LengthMismatch);
            var seen = new HashSet<string?>(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                if (!seen.Add(key))
                {
                    broken.Add(DuplicateKeys);
                    break;
                }
            }
        }
        if (!double.IsFinite(scoreDelta) || Math.Abs(scoreDelta) > Config.MaxScoreDelta) broken.Add(ScoreDelta);
        // Vectorised: checked one at a time, the dense updates of a round (64 x 2^20 values) took about half as
        // long as the round's aggregation of them.
        if (!RowKernels.AllFinite(vector)) broken.Add(NonFinite);
        return broken;
    }
}
