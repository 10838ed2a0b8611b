using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance;

/// <summary>The outcome of one step of a trace file.</summary>
public sealed record StepResult(int Step, IReadOnlyList<TraceMismatch> Mismatches)
{
    public bool Passed => Mismatches.Count == 0;
}

/// <summary>The outcome of one trace file.</summary>
public sealed record TraceFileResult(string File, string Component, IReadOnlyList<StepResult> Steps, string? Error)
{
    public int Passed => Steps.Count(s => s.Passed);

    public int Failed => Steps.Count - Passed;

    public bool Ok => Error is null && Failed == 0;
}

/// <summary>
/// Replays reference trace files (DESIGN §14). A file whose component has no replayer counts every step as
/// failed, never skipped.
/// </summary>
public static class ConformanceRunner
{
    /// <summary>The trace files under the given files or folders, in ordinal order of their paths; a folder without
    /// one is refused, naming it.</summary>
    public static IReadOnlyList<string> ExpandPaths(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var found = Directory.GetFiles(path, "*.json", SearchOption.TopDirectoryOnly);
                // Named beside other paths, an empty folder (a mistyped one, say) was passed over and the run still
                // reported success on the rest.
                if (found.Length == 0) throw new InvalidInputException($"{path}: no trace files (*.json) in this folder");
                Array.Sort(found, StringComparer.Ordinal);
                files.AddRange(found);
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                throw new InvalidInputException($"{path}: no such file or folder");
            }
        }
        return files;
    }

    public static async Task<TraceFileResult> RunFileAsync(string path, CancellationToken cancellationToken = default) =>
        await RunFileAsync(path, Encoding.UTF8.GetBytes(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>As <see cref="RunFileAsync(string, CancellationToken)"/> on the file's contents, read by the caller as
    /// UTF-8: a file of more than 2^30 characters fits no string (the command line reads its bytes).</summary>
    public static async Task<TraceFileResult> RunFileAsync(string path, ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken = default)
    {
        JsonObject file;
        try
        {
            file = JsonInput.Parse(utf8.Span) as JsonObject
                ?? throw new InvalidInputException($"{path}: a trace file is a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{path}: {JsonInput.Describe(e)}", e);
        }
        return await RunAsync(path, file, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<TraceFileResult> RunAsync(string name, JsonObject file, CancellationToken cancellationToken = default)
    {
        var component = file["component"] switch
        {
            null => "(none)",
            JsonValue value when value.TryGetValue<string>(out var text) => text,
            var other => throw new InvalidInputException($"{name}: component must be a string, got {JsonRead.Show(other)}"),
        };
        var steps = file["steps"] as JsonArray ?? throw new InvalidInputException($"{name}: no steps array");
        var replayer = TraceReplayers.Find(component);
        if (replayer is null)
        {
            var failed = steps.Select((_, i) => new StepResult(i, [new TraceMismatch("(component)", $"a replayer for '{component}'", "none")])).ToList();
            return new TraceFileResult(name, component, failed, $"no replayer for component '{component}'");
        }

        // A trace without steps checks nothing: it fails rather than count as a component that conforms.
        if (steps.Count == 0) return new TraceFileResult(name, component, [], "no steps: the trace checks nothing");

        var settings = new JsonObject();
        foreach (var (key, value) in file)
        {
            if (key == "steps") continue;
            if (key != "component" && replayer.Settings is { } known && !known.Contains(key))
                throw new InvalidInputException($"{name}: unknown setting \"{key}\" for component '{component}' (its settings: {string.Join(", ", known)})");
            settings[key] = value?.DeepClone();
        }

        var results = new List<StepResult>(steps.Count);
        ITraceSession session;
        try
        {
            session = replayer.Open(settings);
        }
        catch (InvalidInputException e)
        {
            // The settings' own paths ("config.zzz", "initial_profile") do not say which of several traces holds them.
            throw new InvalidInputException($"{name}: {e.Message}", e);
        }
        await using (session.ConfigureAwait(false))
        {
            for (var i = 0; i < steps.Count; i++)
            {
                var step = steps[i] as JsonObject ?? throw new InvalidInputException($"{name}: step {i} is not an object");
                // A step is {input, expected} (DESIGN §14): a misspelt "inputs" was ignored, and the step replayed an
                // empty input, which could still match its expectations.
                foreach (var (key, _) in step)
                    if (key is not ("input" or "expected"))
                        throw new InvalidInputException($"{name}: step {i}: unknown key \"{key}\" (a step has input and expected)");
                // A missing input is an empty one; any other kind was read as empty too, and a trace whose
                // expectations happened to match passed without its input ever being replayed.
                var input = step["input"] switch
                {
                    null => new JsonObject(),
                    JsonObject given => given,
                    var other => throw new InvalidInputException($"{name}: step {i}: input: expected an object, got {JsonRead.Show(other)}"),
                };
                JsonNode actual;
                try
                {
                    actual = await session.StepAsync(input, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    results.Add(new StepResult(i, [new TraceMismatch("(step)", "a result", $"{e.GetType().Name}: {e.Message}")]));
                    continue;
                }
                // An empty expectation matches whatever the component returned: like a trace without steps, it
                // checks nothing, so it fails (the step has still run: later steps replay on the state it left).
                // So does a step without one: compared as it stood, it read "(root): expected null", as if the trace
                // expected the component to return null.
                var expected = step["expected"];
                results.Add(new StepResult(i, expected switch
                {
                    null => [new TraceMismatch("(expected)", "the fields to check", step.ContainsKey("expected") ? "null" : "(missing)")],
                    JsonObject { Count: 0 } => [new TraceMismatch("(expected)", "at least one field to check", "{}: the step checks nothing")],
                    _ => TraceComparer.Compare(expected, actual),
                }));
            }
        }
        return new TraceFileResult(name, component, results, null);
    }
}
