namespace Meta.Gpu.Learning;

/// <summary>
/// What a domain id, or a parameter name, must be for the engine to keep and save it: not empty, and well-formed
/// UTF-16. The saved files hold them as UTF-8, which writes a lone surrogate as U+FFFD: two ids that differ only
/// there became one in the file, which the loader then refused as a duplicate, and every later save with it (an
/// in-process publisher can send such strings; the JSON parser refuses them on the wire).
/// </summary>
public static class DomainIds
{
    /// <summary>Why <paramref name="id"/> cannot be kept, or null.</summary>
    public static string? Problem(string? id) =>
        string.IsNullOrEmpty(id) ? "missing or empty"
        : !IsWellFormed(id) ? "not well-formed Unicode (a lone surrogate)"
        : null;

    public static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }
                return false;
            }
            if (char.IsLowSurrogate(c)) return false;
        }
        return true;
    }
}
