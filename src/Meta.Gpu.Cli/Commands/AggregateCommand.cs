using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu aggregate [--config FILE] [FILE|-]`: robust cross-domain aggregation (DESIGN §4) of
/// {"updates": [{domain_id, keys, vector, confidence}], "config": {...}} read from FILE or standard input.
/// Prints {"vector", "keys"} and the meta fields at the top level (the aggregator traces' expected shape).
/// </summary>
/// <remarks>
/// Settings: the design's defaults, then <c>--config FILE</c> (a JSON object with §4 names), then the input's own
/// <c>config</c>: a missing key keeps the earlier value, an explicit null turns diversity balancing off, an unknown
/// key is an error. Without <c>--backend</c> the float64 reference computes the result; with it the dense engine
/// on that backend (<see cref="KeyedBackendAggregation"/>). An unknown backend name, or a device backend with no
/// device here, exits 2 saying which names are valid or why the device did not start.
/// </remarks>
internal static class AggregateCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new Argument<string?>("input")
        {
            Description = "JSON file with {\"updates\": [...], \"config\": {...}}; '-' or nothing reads standard input.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        PathArgument.RefuseOptions(input);
        var configFile = new Option<string?>("--config")
        {
            Description = "JSON file of aggregation settings (DESIGN §4 names) used as defaults; the input's config overrides them.",
        };
        var backend = new Option<string?>("--backend")
        {
            Description = $"Compute backend ({string.Join(", ", ComputeBackends.Names)}); without it the float64 reference computes the result.",
        };
        var command = new Command("aggregate", "Aggregate domain updates robustly across domains (DESIGN §4; float64 reference unless --backend).") { input, configFile, backend };
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console,
            () => RunAsync(console, result.GetValue(input), result.GetValue(configFile), result.GetValue(backend), token)));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, string? inputPath, string? configPath, string? backendName, CancellationToken token)
    {
        // The backend is chosen first so that a bad name fails before any input is read.
        using var backend = backendName is null ? null : ComputeBackends.Create(backendName, field: "--backend");
        var config = CrossMetaConfig.Default;
        if (configPath is not null)
        {
            // As bytes: a file of more than 2^30 characters fits no string, and read as text died with "Out of memory.".
            var utf8 = await InputFile.ReadAllUtf8Async(configPath, token, "--config").ConfigureAwait(false);
            var section = ParseObject(utf8.Span, configPath);
            try
            {
                config = config.With(section, "config");
            }
            catch (InvalidInputException e)
            {
                // The same setting is wrong the same way in the input's own config: say which file it came from.
                throw new InvalidInputException($"{configPath}: {e.Message}", e);
            }
        }

        var (updates, inputConfig) = await ReadInputAsync(console, inputPath, config, token).ConfigureAwait(false);
        config = inputConfig;

        var output = Compute(updates, config, backend).ToJson();
        await console.Out.WriteLineAsync(output.ToJsonString(WireJson.Indented)).ConfigureAwait(false);
        return MetaGpuApp.ExitOk;
    }

    /// <summary>The input's updates and its config laid over <paramref name="config"/>. Read as UTF-8 bytes into a
    /// <see cref="JsonDocument"/>, refused alike (<see cref="JsonElementRead"/>): a JsonNode tree took about twenty
    /// times the file's size (a 50 MB input of 64 domains peaked at 1.3 GB, 0.42 GB this way). Neither the bytes nor
    /// the document outlive the reading.</summary>
    private static async Task<(IReadOnlyList<DomainUpdateInput> Updates, CrossMetaConfig Config)> ReadInputAsync(
        CliConsole console, string? inputPath, CrossMetaConfig config, CancellationToken token)
    {
        var fromStdin = inputPath is null or "-";
        var utf8 = fromStdin
            ? await ReadUtf8Async(console.In, token).ConfigureAwait(false)
            : await InputFile.ReadAllUtf8Async(inputPath!, token).ConfigureAwait(false);
        using var document = ParseDocument(utf8, fromStdin ? "input" : inputPath!);
        var request = document.RootElement;
        try
        {
            JsonElementRead.RequireKnownKeys(request, "input", "updates", "config");
            config = config.With(ConfigSection(request), "config");
            var updates = JsonElementRead.Property(request, "updates") is { } list
                ? DomainUpdateInput.ListFromJson(list, "updates")
                : [];
            return (updates, config);
        }
        catch (InvalidInputException e) when (!fromStdin)
        {
            // Its JSON errors name the file, and a --config file's settings do: the same wrong setting read the same
            // from either file, and only one of them said which. Standard input is the one input without a name.
            throw new InvalidInputException($"{inputPath}: {e.Message}", e);
        }
    }

    /// <summary>Standard input as UTF-8 bytes, encoded chunk by chunk: one string holds at most 2^30 characters, and
    /// ReadToEnd of a larger input died with "Out of memory." (exit 134) where the same file is read.</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadUtf8Async(TextReader reader, CancellationToken token)
    {
        var encoder = new UTF8Encoding(false).GetEncoder();
        var chars = new char[1 << 16];
        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(chars.Length)];
        using var buffer = new MemoryStream();
        while (true)
        {
            var read = await reader.ReadAsync(chars.AsMemory(), token).AsTask().WaitAsync(token).ConfigureAwait(false);
            var count = encoder.GetBytes(chars, 0, read, bytes, 0, flush: read == 0);
            if (buffer.Length + count > Array.MaxLength)
                throw new InvalidInputException($"input: more than the {Array.MaxLength} bytes one read can hold");
            buffer.Write(bytes, 0, count);
            if (read == 0) return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        }
    }

    /// <summary>The input's <c>config</c> as <see cref="JsonRead.Object"/> finds it: null when missing or null, an
    /// error naming it when it is no object. Small: a tree of its own.</summary>
    private static JsonObject? ConfigSection(JsonElement request) => JsonElementRead.Property(request, "config") switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } section => JsonObject.Create(section),
        var other => throw new InvalidInputException($"config: expected an object, got {JsonElementRead.Show(other)}"),
    };

    private static JsonDocument ParseDocument(ReadOnlyMemory<byte> utf8, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonInput.ParseDocument(utf8);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{source}: {JsonInput.Describe(e)}", e);
        }
        if (document.RootElement.ValueKind == JsonValueKind.Object) return document;
        using (document)
            throw new InvalidInputException($"{source}: expected a JSON object, got {JsonElementRead.Show(document.RootElement)}");
    }

    /// <summary>The float64 reference path (the traces' 1e-5 tolerance), or the dense engine on
    /// <paramref name="backend"/> (§13's tolerance on values; every discrete decision the reference's).</summary>
    private static AggregationResult Compute(IReadOnlyList<DomainUpdateInput> updates, CrossMetaConfig config, IComputeBackend? backend) =>
        backend is null
            ? CrossDomainMetaAggregator.Aggregate(updates, config)
            : KeyedBackendAggregation.Aggregate(updates, config, backend);

    private static JsonObject ParseObject(ReadOnlySpan<byte> utf8, string source)
    {
        JsonNode? node;
        try
        {
            node = JsonInput.Parse(utf8);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{source}: {JsonInput.Describe(e)}", e);
        }
        return node as JsonObject ?? throw new InvalidInputException($"{source}: expected a JSON object, got {JsonRead.Show(node)}");
    }
}
