using System.Text.Json.Nodes;

namespace Meta.Gpu.Conformance;

/// <summary>
/// Replays the reference traces of one component (DESIGN §14): <see cref="Open"/> builds a fresh instance from
/// the trace file's settings, then each step's input goes through <see cref="ITraceSession.StepAsync"/> in order.
/// </summary>
public interface ITraceReplayer
{
    /// <summary>The trace files' <c>component</c> value this replayer handles (e.g. "integrative_layer").</summary>
    string Component { get; }

    /// <summary>The file-level settings this component reads (besides <c>component</c> and <c>steps</c>); a trace with
    /// any other is malformed (a misspelt "confg" would replay on the defaults). Null: any key is taken.</summary>
    IReadOnlyCollection<string>? Settings => null;

    /// <summary>A new instance configured from the file-level settings (everything but <c>steps</c>).</summary>
    ITraceSession Open(JsonObject file);
}

/// <summary>One component instance being replayed; steps run in order on the same instance.</summary>
public interface ITraceSession : IAsyncDisposable
{
    /// <summary>Runs one step and returns the actual output, shaped like the step's <c>expected</c>.
    /// Non-finite numbers are written as "nan" / "inf" / "-inf".</summary>
    ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default);
}
