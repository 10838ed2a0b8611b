using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>The optional per-domain <c>sequence</c> of a policy pack or a dense update (DESIGN §10): a whole number
/// from 0 to long.MaxValue / 2, read exactly.</summary>
internal static class SequenceNumber
{
    private const double LargestExactDouble = 9_007_199_254_740_992; // 2^53

    /// <summary>The sequence, or null when absent. An integer is read as a long: read as a double, sequences above
    /// 2^53 (64-bit time-based ids) were rounded onto their neighbours, and a newer pack dropped as stale.</summary>
    public static long? Read(JsonObject payload, string topic, string domainId)
    {
        if (payload["sequence"] is JsonValue value && value.TryGetValue<long>(out var exact))
        {
            if (exact < 0 || exact > long.MaxValue / 2)
                throw new InvalidInputException($"{topic}.sequence: expected a whole number >= 0, got {exact} (domain \"{domainId}\")");
            return exact;
        }
        if (JsonRead.OptionalNumber(payload, "sequence", topic) is not { } number) return null;
        if (!double.IsFinite(number) || number != Math.Floor(number) || number < 0)
            throw new InvalidInputException($"{topic}.sequence: expected a whole number >= 0, got {number} (domain \"{domainId}\")");
        // A number that is not an integer token (1e20, or a double in process) is exact only up to 2^53.
        if (number > LargestExactDouble)
            throw new InvalidInputException($"{topic}.sequence: {number} is past 2^53 and not written as an integer, so not exact (domain \"{domainId}\")");
        return (long)number;
    }
}
