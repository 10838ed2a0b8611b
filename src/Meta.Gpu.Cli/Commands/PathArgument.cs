using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.CompilerServices;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// File arguments that must not swallow a mistyped option: `govern --bogus` took "--bogus" as the input file
/// ("--bogus: no such file"), and `govern --bogus FILE` then named the good file as the unrecognised token. A
/// file whose name starts with a dash is given as ./-name, or after `--`.
/// </summary>
internal static class PathArgument
{
    public const string UnrecognizedOption = "Unrecognized option";

    private static readonly ConditionalWeakTable<Argument, object> Paths = [];

    /// <summary>Marks <paramref name="argument"/> as one that takes file paths (see <see cref="OptionLike"/>).</summary>
    public static void RefuseOptions(Argument argument) => Paths.AddOrUpdate(argument, argument);

    /// <summary>The error for a token a path argument took that looks like an option (starts with '-', is not '-'
    /// itself, standard input, and comes before any `--`); null when there is none.</summary>
    public static string? OptionLike(ParseResult parsed)
    {
        var tokens = parsed.Tokens;
        var end = tokens.Count;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Type == TokenType.DoubleDash)
            {
                end = i;
                break;
            }
        }
        foreach (var child in parsed.CommandResult.Children.OfType<ArgumentResult>())
        {
            if (!Paths.TryGetValue(child.Argument, out _)) continue;
            foreach (var token in child.Tokens)
            {
                if (!token.Value.StartsWith('-') || token.Value == "-") continue;
                for (var i = 0; i < end; i++)
                {
                    if (ReferenceEquals(tokens[i], token))
                        return $"{UnrecognizedOption} '{token.Value}' (a file named so can be given as ./{token.Value}, or after --)";
                }
            }
        }
        return null;
    }
}
