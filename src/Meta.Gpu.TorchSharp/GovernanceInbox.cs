using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.TorchSharp;

/// <summary>
/// The governance answers a <see cref="MetaTrainingLoop"/> has received since its last round, folded as they
/// arrive: the latest value of each knob the loop follows, whether a rollback was announced, and the first message
/// that could not be read. Applying the messages one by one in arrival order at the round boundary would leave the
/// same state (a later value of a knob replaces an earlier one; a second rollback finds no previous prior to
/// restore), so a loop left idle while the supervisor keeps answering holds a handful of values instead of every
/// message it was sent.
/// </summary>
internal sealed class GovernanceInbox(IReadOnlySet<string> followedKnobs)
{
    /// <summary>The sections of a policy update that carry knobs.</summary>
    private static readonly string[] KnobSections = ["controller", "evaluator"];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, double> _knobs = new(StringComparer.Ordinal);
    private bool _rollback;
    private ExceptionDispatchInfo? _unreadable;

    /// <summary>
    /// Folds one message in. A payload that is not a JSON object is kept (the first one only) to be thrown by the
    /// next round, after the readable messages around it are applied; a knob value that is not a finite number is
    /// ignored, as the loop always has.
    /// </summary>
    public void Post(BusEvent e)
    {
        JsonObject payload;
        try
        {
            payload = BusPayload.AsObject(e.Payload, e.Topic);
        }
        catch (Exception ex)
        {
            lock (_gate) _unreadable ??= ExceptionDispatchInfo.Capture(ex);
            return;
        }
        lock (_gate)
        {
            if (e.Topic == LearningTopics.MetaRollbackActive)
            {
                _rollback = true;
                return;
            }
            foreach (var section in KnobSections)
            {
                if (payload[section] is not JsonObject knobs) continue;
                foreach (var (key, value) in knobs)
                {
                    // JsonRead.NumberOf: TryGetValue<double> alone dropped a number built in memory as an int,
                    // a long, a float or a decimal.
                    if (followedKnobs.Contains(key) && value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
                        && JsonRead.NumberOf(v) is var number && double.IsFinite(number))
                        _knobs[key] = number;
                }
            }
        }
    }

    /// <summary>Empties the inbox: the knob values to set, whether to roll back, and the first unreadable message
    /// (for the caller to throw once it has applied the rest).</summary>
    public (KeyValuePair<string, double>[] Knobs, bool Rollback, ExceptionDispatchInfo? Unreadable) Take()
    {
        lock (_gate)
        {
            var taken = (_knobs.ToArray(), _rollback, _unreadable);
            _knobs.Clear();
            _rollback = false;
            _unreadable = null;
            return taken;
        }
    }
}
