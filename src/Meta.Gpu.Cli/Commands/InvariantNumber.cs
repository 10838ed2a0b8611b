using System.CommandLine.Parsing;
using System.Globalization;

namespace Meta.Gpu.Cli.Commands;

/// <summary>A number option read the same in every culture: '.' is the decimal point and no digit-group separator
/// is skipped (System.CommandLine's own parser uses the current culture with thousands allowed, so "0,5" read as 5,
/// and under de-DE "0.5" did too). A whole-number option's error names the option and says what is wanted: the
/// parser's own said "as expected type 'System.Nullable`1[System.Int32]'".</summary>
internal static class InvariantNumber
{
    public static double Double(ArgumentResult result)
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return value;
        var name = (result.Parent as OptionResult)?.Option.Name ?? "value";
        result.AddError($"{name}: '{token}' is not a number (write decimals with a point: 0.5)");
        return default;
    }

    public static int Int32(ArgumentResult result) => (int)(Integer(result, int.MinValue, int.MaxValue) ?? 0);

    public static int? NullableInt32(ArgumentResult result) => (int?)Integer(result, int.MinValue, int.MaxValue);

    public static long? NullableInt64(ArgumentResult result) => Integer(result, long.MinValue, long.MaxValue);

    private static long? Integer(ArgumentResult result, long min, long max)
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        var name = (result.Parent as OptionResult)?.Option.Name ?? "value";
        // Blanks around it are read, as the parser did before and as a decimal option reads them.
        var parsed = long.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value);
        var digits = token.Trim().TrimStart('+', '-');
        if (!parsed && !(digits.Length > 0 && digits.All(char.IsAsciiDigit) && token.Trim().Length - digits.Length <= 1))
        {
            result.AddError($"{name}: '{token}' is not a whole number");
            return null;
        }
        if (!parsed || value < min || value > max)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name}: {token} is out of range ({min} to {max})"));
            return null;
        }
        return value;
    }
}
