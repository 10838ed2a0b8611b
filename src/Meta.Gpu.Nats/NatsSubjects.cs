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
        // Each durable topic's stream is named after the prefix, and the broker refuses such a name (the commands
        // failed at their subscription with the broker's words; a domain worker, which only publishes, waited for good).
        if (value.Contains('/') || value.Contains('\\'))
            throw new InvalidInputException($"{field}: '{value}' is not a valid subject prefix (without '/' or '\\': streams are named after it, and the broker refuses path separators in a stream name)");
        // NATS keeps subjects that start with '$' for the server, and the broker took such a prefix without a word:
        // under $JS a topic could be a JetStream API call, under $O the object store that holds the large vectors,
        // under $KV a key-value bucket's stream, under $SYS the server's system services.
        if (value.StartsWith('$'))
            throw new InvalidInputException($"{field}: '{value}' is not a valid subject prefix (names starting with '$' are the broker's own: $JS is JetStream's API, $O and $KV its object and key-value stores, $SYS the system's)");
        if (value == InboxPrefix)
            throw new InvalidInputException($"{field}: '{value}' is not a valid subject prefix ({InboxPrefix} carries the replies to the bus's requests and publishes)");
    }

    /// <summary>The client's inbox prefix (NATS.Net's default, which the bus keeps): replies arrive under it.</summary>
    public const string InboxPrefix = "_INBOX";

    /// <summary>The longest JetStream name (stream, consumer) the broker takes, in UTF-8 bytes.</summary>
    public const int MaxStreamNameBytes = 255;

    /// <summary>Refuses, under <paramref name="field"/>, a <paramref name="prefix"/> that makes the stream name of one
    /// of <paramref name="topics"/> (<c>*</c> skipped) longer than the broker takes.</summary>
    public static void ValidateStreamNames(string prefix, IEnumerable<string> topics, string field)
    {
        foreach (var topic in topics)
        {
            if (topic == "*") continue;
            var name = StreamName(prefix, topic);
            var bytes = System.Text.Encoding.UTF8.GetByteCount(name);
            if (bytes > MaxStreamNameBytes)
                throw new InvalidInputException(FormattableString.Invariant(
                    $"{field}: a prefix of {System.Text.Encoding.UTF8.GetByteCount(prefix)} bytes is too long: topic {topic}'s stream name would be {bytes} bytes, the broker takes at most {MaxStreamNameBytes}"));
        }
    }

    /// <summary>A JetStream name (stream, consumer, bucket): letters, digits, '-' and '_'.</summary>
    public static void ValidateName(string value, string field)
    {
        if (string.IsNullOrEmpty(value) || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new InvalidInputException($"{field}: '{value}' must be letters, digits, '-' or '_'");
    }
}
