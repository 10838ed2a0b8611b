namespace Meta.Gpu.Nats;

/// <summary>Counts in the words of the bus's warnings ("1 message", "3 messages").</summary>
internal static class BacklogWords
{
    public static string Count(long count, string one, string? many = null) =>
        count == 1 ? $"1 {one}" : $"{count} {many ?? one + "s"}";
}
