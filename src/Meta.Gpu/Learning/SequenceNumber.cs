using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>The optional per-domain <c>sequence</c> of a policy pack or a dense update (DESIGN §10): a whole number
/// from 0 to long.MaxValue / 2, read exactly.</summary>
internal static class SequenceNumber
{
    private const long Largest = long.MaxValue / 2;

    private const double LargestExactDouble = 9_007_199_254_740_992; // 2^53

    /// <summary>The sequence, or null when absent. An integer (a JSON integer or decimal token, or an in-process long,
    /// ulong or decimal) is read exactly: read as a double, sequences above 2^53 (64-bit time-based ids) were rounded
    /// onto their neighbours, and a newer pack dropped as stale. Only a double is limited to 2^53.</summary>
    public static long? Read(JsonObject payload, string topic, string domainId)
    {
        if (payload["sequence"] is JsonValue value)
        {
            if (value.TryGetValue<long>(out var exact)) return InRange(exact, topic, domainId);
            if (value.TryGetValue<ulong>(out var unsigned)) return InRange(unsigned, topic, domainId);
            if (value.TryGetValue<decimal>(out var number) && number == decimal.Truncate(number)) return InRange(number, topic, domainId);
        }
        if (JsonRead.OptionalNumber(payload, "sequence", topic) is not { } real) return null;
        if (!double.IsFinite(real) || real != Math.Floor(real) || real < 0)
            throw new InvalidInputException(FormattableString.Invariant($"{topic}.sequence: expected a whole number >= 0, got {real} (domain \"{domainId}\")"));
        // 2^53 itself may be a rounded 2^53 + 1.
        if (real >= LargestExactDouble)
            throw new InvalidInputException(FormattableString.Invariant($"{topic}.sequence: {real} is a double at or past 2^53, so not exact; send an integer (domain \"{domainId}\")"));
        return (long)real;
    }

    private static long InRange(decimal sequence, string topic, string domainId) =>
        sequence >= 0 && sequence <= Largest
            ? (long)sequence
            : throw new InvalidInputException(sequence < 0
                ? FormattableString.Invariant($"{topic}.sequence: expected a whole number >= 0, got {sequence} (domain \"{domainId}\")")
                : FormattableString.Invariant($"{topic}.sequence: {sequence} is above the largest sequence, {Largest} (domain \"{domainId}\")"));
}
