using System.Globalization;

namespace Meta.Gpu.Governance;

/// <summary>Range checks for the governance configuration; each failure names the field (its JSON path).</summary>
internal static class ConfigCheck
{
    /// <summary>A section of a configuration built in code may be set to null; refused naming it.</summary>
    public static void Present(object? section, string path)
    {
        if (section is null) throw new InvalidInputException($"{path}: missing (null)");
    }

    public static void Finite(double value, string path)
    {
        if (!double.IsFinite(value)) throw new InvalidInputException($"{path}: must be a finite number, got {Show(value)}");
    }

    public static void NonNegative(double value, string path)
    {
        Finite(value, path);
        if (value < 0) throw new InvalidInputException($"{path}: must be >= 0, got {Show(value)}");
    }

    public static void Positive(double value, string path)
    {
        Finite(value, path);
        if (value <= 0) throw new InvalidInputException($"{path}: must be > 0, got {Show(value)}");
    }

    public static void AtLeast(int value, int min, string path)
    {
        if (value < min) throw new InvalidInputException(FormattableString.Invariant($"{path}: must be >= {min}, got {value}"));
    }

    public static void Bounds(KnobBounds bounds, string path)
    {
        Finite(bounds.Lo, $"{path}[0]");
        Finite(bounds.Hi, $"{path}[1]");
        if (bounds.Lo > bounds.Hi)
            throw new InvalidInputException($"{path}: lower bound {Show(bounds.Lo)} is above upper bound {Show(bounds.Hi)}");
    }

    public static string Show(double value) => double.IsFinite(value)
        ? value.ToString("R", CultureInfo.InvariantCulture)
        : Serialization.WireJson.NonFiniteName(value);
}
