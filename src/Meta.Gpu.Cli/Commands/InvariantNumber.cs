using System.CommandLine.Parsing;
using System.Globalization;

namespace Meta.Gpu.Cli.Commands;

/// <summary>A number option read the same in every culture: '.' is the decimal point and no digit-group separator
/// is skipped (System.CommandLine's own parser uses the current culture with thousands allowed, so "0,5" read as 5,
/// and under de-DE "0.5" did too).</summary>
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
}
