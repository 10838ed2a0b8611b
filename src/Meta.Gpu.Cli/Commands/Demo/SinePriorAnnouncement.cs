using System.Globalization;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>
/// What the sine demo's aggregator announces on the broker before each synchronous meta-round (topic
/// <see cref="Topic"/>): the prior every domain adapts from and the run's task settings, so that a worker cannot
/// run the inner loop with other settings than the aggregator's in-process check.
/// </summary>
/// <remarks>
/// <para>Wire form (keys sorted): {d, inner_learning_rate, inner_steps, round, seed, sequence_base, shots, prior:
/// base64 of the DESIGN §11 binary record (its round field = <c>round</c>, SHA-256 verified on receipt)}. The
/// binary form keeps the float32 values exact, which a decimal JSON array read back through double would not
/// guarantee.</para>
/// <para>A domain answers round r with the dense update of sequence <c>sequence_base + r + 1</c>. The base is
/// chosen by the aggregator when a run starts (from the clock), so that a second run on the same broker never
/// reuses a message id the broker may still deduplicate (<c>{domain_id}:{sequence}</c>), and every domain's
/// sequence still increases by one per round.</para>
/// <para>The topic is core NATS (fire-and-forget): the aggregator repeats the announcement while it waits, so a
/// worker that starts late, or reconnects, still gets it.</para>
/// </remarks>
internal sealed record SinePriorAnnouncement(
    long Round,
    int Seed,
    int Shots,
    int InnerSteps,
    double InnerLearningRate,
    long SequenceBase,
    float[] Prior)
{
    public const string Topic = "sine_demo.prior";

    /// <summary>The sequence of the dense update that answers this round.</summary>
    public long AnswerSequence => SequenceBase + Round + 1;

    public JsonObject ToJson() => new()
    {
        ["d"] = Prior.Length,
        ["inner_learning_rate"] = InnerLearningRate,
        ["inner_steps"] = InnerSteps,
        ["prior"] = Convert.ToBase64String(DensePriorFile.ToBytes(Prior, Round)),
        ["round"] = Round,
        ["seed"] = Seed,
        ["sequence_base"] = SequenceBase,
        ["shots"] = Shots,
    };

    /// <summary>Reads an announcement; a missing or malformed field is an <see cref="InvalidInputException"/>
    /// naming it.</summary>
    public static SinePriorAnnouncement FromPayload(object? payload)
    {
        var json = BusPayload.AsObject(payload, Topic);
        var round = Whole(json, "round");
        var base64 = JsonRead.String(json, "prior", "", Topic);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new InvalidInputException($"{Topic}.prior: not base64 ({e.Message})", e);
        }
        DensePrior prior;
        try
        {
            prior = DensePriorFile.FromBytes(bytes);
        }
        catch (Exception e) when (e is InvalidInputException or InvalidDataException or EndOfStreamException)
        {
            throw new InvalidInputException($"{Topic}.prior: not a valid binary vector ({e.Message})", e);
        }
        if (prior.Round != round)
            throw new InvalidInputException($"{Topic}.prior: the vector is round {prior.Round}'s, the announcement says {round}");
        var d = Whole(json, "d");
        if (d != prior.D) throw new InvalidInputException($"{Topic}.d: {d}, the vector has {prior.D} values");
        var innerLr = JsonRead.OptionalDouble(json, "inner_learning_rate", Topic) ?? throw Missing("inner_learning_rate");
        if (!(innerLr > 0) || !double.IsFinite(innerLr)) throw new InvalidInputException($"{Topic}.inner_learning_rate: must be > 0, got {innerLr}");
        return new SinePriorAnnouncement(
            round,
            Int32(Whole(json, "seed", allowNegative: true), "seed"),
            Int32(Positive(json, "shots"), "shots"),
            Int32(Positive(json, "inner_steps"), "inner_steps"),
            innerLr,
            Whole(json, "sequence_base"),
            prior.Values);
    }

    /// <summary>A field of the run's settings that the worker holds as an int: out of its range is refused naming the
    /// field (a checked cast threw an OverflowException that named nothing).</summary>
    private static int Int32(long value, string key) => value is >= int.MinValue and <= int.MaxValue
        ? (int)value
        : throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"{Topic}.{key}: {value} is out of range ({int.MinValue} to {int.MaxValue})"));

    private static long Positive(JsonObject json, string key)
    {
        var value = Whole(json, key);
        return value >= 1 ? value : throw new InvalidInputException($"{Topic}.{key}: must be >= 1, got {value}");
    }

    private static long Whole(JsonObject json, string key, bool allowNegative = false)
    {
        var value = JsonRead.OptionalDouble(json, key, Topic) ?? throw Missing(key);
        if (!double.IsFinite(value) || value != Math.Floor(value) || Math.Abs(value) > 1L << 53 || (!allowNegative && value < 0))
            throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"{Topic}.{key}: expected a whole number{(allowNegative ? "" : " >= 0")}, got {value}"));
        return (long)value;
    }

    private static InvalidInputException Missing(string key) => new($"{Topic}.{key}: missing");
}
