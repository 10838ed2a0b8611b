using System.CommandLine;
using System.CommandLine.Help;
using System.Text.Json;
using Meta.Gpu.Cli.Commands;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Cli;

/// <summary>
/// The `meta-gpu` command line. Exit codes: 0 success, 1 a check that failed (conformance mismatches),
/// 2 a user error (bad arguments, malformed input, unknown configuration key, missing file) reported on one line.
/// </summary>
public static class MetaGpuApp
{
    public const int ExitOk = 0;
    public const int ExitCheckFailed = 1;
    public const int ExitUserError = 2;

    /// <summary>Runs the command line; <paramref name="cancellationToken"/> (Ctrl-C and SIGTERM in the tool itself,
    /// <see cref="TerminationSignals"/>) is the token every command gets.</summary>
    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("Meta.Gpu: robust cross-domain meta-learning and rule-based meta-governance.");
        foreach (var command in Commands(console))
            root.Subcommands.Add(command);

        var parsed = root.Parse(args);
        // A mistyped option a file argument took comes first: it is the cause of any token left over after it.
        // Then an error naming a token nothing took (a mistyped command): "Required command was not provided" came
        // first and named nothing.
        var parseError = parsed.Errors
            .OrderBy(e => parsed.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal)) ? 0 : 1)
            .FirstOrDefault();
        if ((PathArgument.OptionLike(parsed) ?? parseError?.Message) is { } error)
        {
            await console.Error.WriteLineAsync($"meta-gpu: {error} (see 'meta-gpu --help')").ConfigureAwait(false);
            return ExitUserError;
        }
        // The help writer skips a hidden command whole: `storage-soak --help` printed nothing. Hidden keeps a command
        // out of the top-level list; its own help, asked for by name, is written as any other's.
        if (parsed.Action is HelpAction && parsed.CommandResult.Command is { Hidden: true } hidden)
            hidden.Hidden = false;
        // Signals are the caller's (Program: TerminationSignals), not the library's.
        var config = new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        // Help and version are written outside any command's guard: an output that cannot take them is said alike.
        return await GuardAsync(console, () => parsed.InvokeAsync(config, cancellationToken)).ConfigureAwait(false);
    }

    private static IEnumerable<Command> Commands(CliConsole console)
    {
        yield return ConformanceCommand.Create(console);
        yield return DemoCommand.Create(console);
        yield return GovernCommand.Create(console);
        yield return AggregateCommand.Create(console);
        yield return StorageSoakCommand.Create(console);
        yield return DevicesCommand.Create(console);
        yield return ServeCommand.Create(console);
        yield return DomainCommand.Create(console);
        yield return BenchCommand.Create(console);
    }

    /// <summary>Runs a command body, turning user errors into one line on stderr and exit code 2.</summary>
    public static async Task<int> GuardAsync(CliConsole console, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (IsUserError(e))
        {
            await console.Error.WriteLineAsync($"meta-gpu: {OneLine(e)}").ConfigureAwait(false);
            return ExitUserError;
        }
    }

    /// <summary>Input the user can mend: bad arguments or files, a storage folder whose saved state and every
    /// backup are unusable (<see cref="InvalidDataException"/> from the storage, naming the file), and one another
    /// writer holds (<see cref="StorageLockedException"/>).</summary>
    private static bool IsUserError(Exception e) =>
        e is InvalidInputException or JsonException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
            or InvalidDataException or StorageLockedException;

    private static string OneLine(Exception e)
    {
        var message = e switch
        {
            JsonException j when j.LineNumber is long line => $"malformed JSON at line {line + 1}: {j.Message}",
            FileNotFoundException f => $"{f.FileName ?? "file"}: no such file",
            _ => e.Message,
        };
        return message.ReplaceLineEndings(" ");
    }
}
