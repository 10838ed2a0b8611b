using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu govern [--config FILE] [--policy-log FILE] [FILE|-]`: runs the governance layer (DESIGN §5) over
/// JSON Lines of telemetry snapshots and writes one JSON line of the layer's result per input line.
/// </summary>
/// <remarks>
/// Blank lines are skipped (line numbers still count them). Output is streamed: the lines before a bad one are
/// written, then the bad line stops the run with exit code 2 and one message naming its line number.
/// </remarks>
internal static class GovernCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new Argument<string?>("input")
        {
            Description = "JSON Lines of telemetry snapshots; '-' or nothing reads standard input.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        PathArgument.RefuseOptions(input);
        var config = new Option<string?>("--config")
        {
            Description = "Layer configuration (JSON, §5 layout, any subset of sections).",
        };
        var policyLog = new Option<string?>("--policy-log")
        {
            Description = "Append each call's history entry to this file as JSON Lines.",
        };
        var command = new Command("govern", "Run the governance layer over telemetry snapshots (JSON Lines), one result line per input.")
        {
            input, config, policyLog,
        };
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () =>
            RunAsync(console, result.GetValue(input), result.GetValue(config), result.GetValue(policyLog), token)));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, string? inputPath, string? configPath, string? policyLogPath, CancellationToken token)
    {
        var config = configPath is null ? IntegrativeMetaConfig.Default : await ReadConfigAsync(configPath, token).ConfigureAwait(false);
        var fromStdin = inputPath is null or "-";
        if (!fromStdin) InputFile.CheckReadable(inputPath!);
        if (policyLogPath is not null) InputFile.CheckWritable(policyLogPath, "--policy-log");
        // The log is appended to while the input is read: the same file would feed its own lines back, for ever.
        if (!fromStdin && policyLogPath is not null && InputFile.SameFile(inputPath!, policyLogPath))
            throw new InvalidInputException($"--policy-log {policyLogPath}: is the input file; the log's lines would be read back as input");
        // Standard input redirected from the log (`< log`) is read as it grows, with no length to stop at.
        if (fromStdin && policyLogPath is not null && console.ReadsStandardInput && InputFile.IsStandardInput(policyLogPath))
            throw new InvalidInputException($"--policy-log {policyLogPath}: is the standard input; the log's lines would be read back as input");
        // Read already, it would not feed anything back, but the run would leave it no longer a configuration.
        if (configPath is not null && policyLogPath is not null && InputFile.SameFile(configPath, policyLogPath))
            throw new InvalidInputException($"--policy-log {policyLogPath}: is the --config file; the log's lines would be appended to the configuration");

        using var layer = OpenLayer(config, policyLogPath);
        // The file as it is now: what is appended while it is read (the log, should it be the input under another
        // name) is not read back.
        var reader = fromStdin ? console.In : new StreamReader(await InputFile.OpenAsItIsNowAsync(inputPath!, token).ConfigureAwait(false));
        try
        {
            var lines = new LineReader(reader);
            var lineNumber = 0;
            while (await lines.ReadLineAsync(lineNumber + 1, token).ConfigureAwait(false) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var snapshot = ParseLine(line, lineNumber);
                var result = Update(layer, snapshot, lineNumber, policyLogPath);
                await console.Out.WriteLineAsync(result.ToJson().ToJsonString(WireJson.Options)).ConfigureAwait(false);
            }
        }
        finally
        {
            if (!fromStdin) reader.Dispose();
        }
        await console.Out.FlushAsync(token).ConfigureAwait(false);
        return MetaGpuApp.ExitOk;
    }

    /// <summary>The layer, with its policy log opened for appending: a log that cannot be opened (a link to itself, a
    /// name too long, a file that may not be written) is said on one line naming the option; the runtime's IOException
    /// escaped as an unhandled exception.</summary>
    private static MetaIntegrativeLayer OpenLayer(IntegrativeMetaConfig config, string? policyLogPath)
    {
        try
        {
            return new MetaIntegrativeLayer(config, new MetaIntegrativeLayerOptions { PolicyLogPath = policyLogPath });
        }
        catch (Exception e) when (policyLogPath is not null && e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"--policy-log {policyLogPath}: cannot append to it ({IoFailure.Reason(e)})", e);
        }
    }

    private static TelemetrySnapshot ParseLine(string line, int lineNumber)
    {
        JsonNode? node;
        try
        {
            node = JsonInput.Parse(line);
        }
        catch (JsonException e)
        {
            var column = e.BytePositionInLine is long position ? $", column {position + 1}" : "";
            throw new InvalidInputException($"line {lineNumber}{column}: malformed JSON ({JsonInput.Reason(e)})", e);
        }
        if (node is not JsonObject obj)
            throw new InvalidInputException($"line {lineNumber}: expected a JSON object (a telemetry snapshot), got {JsonRead.Show(node)}");
        try
        {
            var snapshot = TelemetrySnapshot.FromJson(obj);
            snapshot.CheckReadings();
            return snapshot;
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"line {lineNumber}: {e.Message}", e);
        }
    }

    /// <summary>The layer's call on one line's snapshot. Finite readings can still be refused (a reward that
    /// overflows under the configured weights): the refusal names the line, as a malformed one does. A policy log
    /// that cannot take the call's entry (a full disk) fails the call, which then changes nothing: said on one line
    /// naming the option, not as an unhandled exception.</summary>
    private static MetaUpdateResult Update(MetaIntegrativeLayer layer, TelemetrySnapshot snapshot, int lineNumber, string? policyLogPath)
    {
        try
        {
            return layer.Update(snapshot);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"line {lineNumber}: {e.Message}", e);
        }
        catch (IOException e) when (policyLogPath is not null)
        {
            throw new InvalidInputException($"line {lineNumber}: --policy-log {policyLogPath}: cannot append the entry ({e.Message})", e);
        }
    }

    private static async Task<IntegrativeMetaConfig> ReadConfigAsync(string path, CancellationToken token)
    {
        JsonNode? node;
        // As bytes: a file of more than 2^30 characters fits no string, and read as text died with "Out of memory.".
        var utf8 = await InputFile.ReadAllUtf8Async(path, token, "--config").ConfigureAwait(false);
        try
        {
            node = JsonInput.Parse(utf8.Span);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{path}: {JsonInput.Describe(e)}", e);
        }
        var json = node as JsonObject ?? throw new InvalidInputException($"{path}: a configuration is a JSON object, got {JsonRead.Show(node)}");
        try
        {
            return IntegrativeMetaConfig.FromJson(json);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"{path}: {e.Message}", e);
        }
    }
}
