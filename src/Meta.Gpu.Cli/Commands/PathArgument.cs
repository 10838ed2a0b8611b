using System.CommandLine;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// File arguments that must not swallow a mistyped option: `govern --bogus` took "--bogus" as the input file
/// ("--bogus: no such file"), and `govern --bogus FILE` then named the good file as the unrecognised token.
/// </summary>
internal static class PathArgument
{
    public const string UnrecognizedOption = "Unrecognized option";

    /// <summary>Refuses a value that looks like an option (starts with '-' and is not '-' itself, standard input).</summary>
    public static void RefuseOptions(Argument argument)
    {
        argument.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (token.Value.StartsWith('-') && token.Value != "-")
                    result.AddError($"{UnrecognizedOption} '{token.Value}' (a file named so can be given as ./{token.Value})");
            }
        });
    }
}
