namespace Meta.Gpu.Nats;

/// <summary>How bus topics map to NATS subjects and JetStream names.</summary>
/// <remarks>A topic becomes the subject <c>{prefix}.{topic}</c> (topics keep their dots, so
/// <c>federation.policy_pack</c> is two subject tokens). A durable topic gets its own stream named
/// <c>{PREFIX}_{TOPIC}</c> with dots turned into underscores and upper-cased.</remarks>
public static class NatsSubjects
{
    public static string Subject(string prefix, string topic) => $"{prefix}.{topic}";

    public static string StreamName(string prefix, string topic) =>
        $"{prefix}_{topic}".Replace('.', '_').Replace('-', '_').ToUpperInvariant();

    /// <summary>A topic: non-empty dot-separated tokens without whitespace or the wildcards * and &gt;.</summary>
    public static void ValidateTopic(string topic)
    {
        if (string.IsNullOrEmpty(topic)) throw new InvalidInputException("topic: must not be empty");
        foreach (var token in topic.Split('.'))
            if (token.Length == 0 || token == "*" || token == ">" || token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                throw new InvalidInputException($"topic '{topic}': not a valid subject (empty token, wildcard or whitespace)");
    }

    /// <summary>A subject prefix: one token of a topic's rules, reported under <paramref name="field"/>. One token
    /// only: topics have dots, so prefix <c>a</c> with topic <c>b.c</c> and prefix <c>a.b</c> with topic <c>c</c> were
    /// one subject, and two deployments saw each other's messages.</summary>
    public static void ValidateToken(string value, string field)
    {
        try
        {
            ValidateTopic(value);
        }
        catch (InvalidInputException)
        {
            throw new InvalidInputException($"{field}: '{value}' is not a valid subject prefix (empty token, wildcard or whitespace)");
        }
        if (value.Contains('.'))
            throw new InvalidInputException($"{field}: '{value}' is not a valid subject prefix (one token, without '.': topics have dots, so a dotted prefix can name another prefix's subjects)");
    }

    /// <summary>A JetStream name (stream, consumer, bucket): letters, digits, '-' and '_'.</summary>
    public static void ValidateName(string value, string field)
    {
        if (string.IsNullOrEmpty(value) || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new InvalidInputException($"{field}: '{value}' must be letters, digits, '-' or '_'");
    }
}
