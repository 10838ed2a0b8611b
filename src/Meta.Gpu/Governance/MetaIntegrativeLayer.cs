using System.Globalization;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// The rule-based governance layer (DESIGN §5): each <see cref="Update"/> scores the telemetry, ticks the
/// cooldowns, lets the controller, evaluator and operator rules step the knobs, builds the policy update and the
/// resource hint, rolls back when the reward EMA fell too far, and records the call in the history.
/// </summary>
/// <remarks>
/// Not thread-safe: one caller at a time (the supervisor serialises its events). With no policy log,
/// <see cref="Update"/> allocates nothing: knobs and cooldowns are inline vectors, the history a ring allocated
/// once, the result a value, and the reason strings precomputed.
/// </remarks>
public sealed class MetaIntegrativeLayer : IDisposable
{
    /// <summary>Slack of the exploration test "new EMA &lt; previous EMA + 1e-9" (D1).</summary>
    public const double EmaSlack = 1e-9;

    /// <summary>Knob steps land on a grid of this many decimals (D8).</summary>
    public const int KnobDecimals = 10;

    private readonly TextWriter? _policyLog;
    private readonly bool _ownsPolicyLog;
    private readonly TimeProvider _time;
    private bool _disposed;

    public MetaIntegrativeLayer(IntegrativeMetaConfig? config = null, MetaIntegrativeLayerOptions? options = null)
    {
        Config = config ?? IntegrativeMetaConfig.Default;
        Config.Validate();
        options ??= MetaIntegrativeLayerOptions.Default;
        _time = options.TimeProvider ?? TimeProvider.System;
        if (options.PolicyLog is not null)
        {
            _policyLog = options.PolicyLog;
        }
        else if (options.PolicyLogPath is { } path)
        {
            // Unbuffered below the writer: each call's flush writes its line through, and a line that could not be
            // written (a full disk) is not kept to be written again, and fail again, when the layer is disposed.
            _policyLog = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0));
            _ownsPolicyLog = true;
        }
        State = new MetaState(Config.Safety.MaxHistory);
    }

    public IntegrativeMetaConfig Config { get; }

    public MetaState State { get; }

    /// <summary>One governance cycle, DESIGN §5 steps 1-10, in that order. A reading with a NaN or infinite field,
    /// or a vram_util outside [0, 1], is refused (<see cref="InvalidInputException"/> naming it) before anything
    /// changes (<see cref="TelemetrySnapshot.CheckReadings"/>). With a policy log, the call's line is written before the state
    /// takes the call's changes: a write that throws (a full disk, a closed writer) fails the call and changes
    /// nothing, so the layer never runs ahead of its log.</summary>
    /// <exception cref="ObjectDisposedException">The layer is disposed, with a policy log or without one.</exception>
    public MetaUpdateResult Update(TelemetrySnapshot telemetry)
    {
        // Checked first, log or no log: an owned log is closed by now, and a layer without one must not govern on
        // after its owner let it go.
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(telemetry);
        telemetry.CheckReadings();
        var config = Config;
        var state = State;

        // Every step works on copies; the state takes them at the end, after the policy log line is written, so a
        // log that cannot be written leaves the layer as it was (the caller sees the error).
        // 1. Reward and EMA.
        var scoring = ScoreBreakdown.Compute(config.MetaScore, telemetry);
        // Finite readings can still overflow a configured weighted sum (inf - inf): a NaN reward would stay in the
        // EMA for good, so the call is refused before anything changes, as a non-finite reading is.
        if (!double.IsFinite(scoring.Raw))
            throw new InvalidInputException(FormattableString.Invariant($"telemetry: the reward of these readings is not finite ({scoring.Raw}) under meta_score's weights and penalties"));
        var previousEma = state.RewardEma;
        var alpha = config.MetaScore.EmaAlpha;
        var ema = (1 - alpha) * previousEma + alpha * scoring.Reward;

        // 2. Cooldowns tick down.
        var cooldowns = state.Cooldowns;
        for (var i = 0; i < Knobs.Count; i++)
            if (cooldowns[i] > 0) cooldowns[i]--;

        var knobs = state.Knobs;
        var before = knobs;
        var changed = 0;

        // 3. Controller: exploration (D1: against the previous EMA), then exploitation on the value it left.
        var controller = config.ControllerPolicy;
        if (telemetry.AcceptRate < controller.AcceptLow && ema < previousEma + EmaSlack)
        {
            changed |= StepKnob(ref knobs, cooldowns, Knob.Tau, controller.TauStep, controller.TauBounds);
            changed |= StepKnob(ref knobs, cooldowns, Knob.GammaDiversity, controller.GammaStep, controller.GammaBounds);
        }
        if (telemetry.StabilityAvg > controller.StabilityHigh && telemetry.GainP50 > telemetry.EffectiveGainPrev)
            changed |= StepKnob(ref knobs, cooldowns, Knob.Tau, -controller.TauStep, controller.TauBounds);

        // 4. Evaluator.
        var evaluator = config.EvaluatorPolicy;
        if (telemetry.AcceptLowWindows >= evaluator.AcceptLowWindows && telemetry.AcceptRate < evaluator.AcceptVeryLow)
            changed |= StepKnob(ref knobs, cooldowns, Knob.GMin, -evaluator.GMinStep, evaluator.GMinBounds);
        if (telemetry.CiWidth > telemetry.CiWidthTarget)
            changed |= StepKnob(ref knobs, cooldowns, Knob.LambdaCi, -evaluator.LambdaCiStep, evaluator.LambdaCiBounds);

        // 5. Operators: shed a tier under load (tier 3 first), restore them when the load is gone.
        var drg = config.DrgPolicy;
        var underLoad = telemetry.LatencyMs > drg.LatencyHigh || telemetry.VramUtil > drg.VramHigh;
        if (underLoad)
        {
            if (knobs[Knob.Tier3TopK] > 0 && cooldowns[Knob.Tier3TopK] == 0)
                changed |= SetKnob(ref knobs, Knob.Tier3TopK, 0);
            else if (knobs[Knob.Tier2Enabled] != 0 && cooldowns[Knob.Tier2Enabled] == 0)
                changed |= SetKnob(ref knobs, Knob.Tier2Enabled, 0);
        }
        else
        {
            if (knobs[Knob.Tier2Enabled] == 0 && cooldowns[Knob.Tier2Enabled] == 0)
                changed |= SetKnob(ref knobs, Knob.Tier2Enabled, 1);
            if (knobs[Knob.Tier3TopK] == 0 && cooldowns[Knob.Tier3TopK] == 0)
                changed |= SetKnob(ref knobs, Knob.Tier3TopK, KnobVector.Initial[Knob.Tier3TopK]);
        }

        // 6. Policy update: the knobs written this call, with the last value written; one decision per call.
        var reasons = PolicyReasons.None;
        if (telemetry.AcceptRate < controller.AcceptLow) reasons |= PolicyReasons.LowAccept;
        if (underLoad) reasons |= PolicyReasons.LatencyHigh;
        if (telemetry.OomFlag) reasons |= PolicyReasons.Oom;
        var rev = state.DecisionCount + 1;
        var policyUpdate = new PolicyUpdate(rev, changed, knobs, reasons);

        // 7. Resource hint.
        var hint = ResourceHint.For(drg, telemetry);

        // 8. Safety: a fall of the EMA since the previous call restores the knobs that call started with.
        var safety = config.Safety;
        var rollback = state.History.TryGetNewest(out var previous) && previous.RewardAvg - ema > safety.RollbackDelta;
        if (rollback)
        {
            var restore = previous.KnobsBefore;
            var touched = changed | knobs.DifferenceMask(restore);
            knobs = restore;
            SetCooldowns(ref cooldowns, touched, 2 * safety.CooldownCycles);
            // D7: announce what actually differs from the start of this call, with the restored values.
            policyUpdate = new PolicyUpdate(rev, knobs.DifferenceMask(before), knobs, reasons | PolicyReasons.Rollback);
        }
        else
        {
            SetCooldowns(ref cooldowns, changed, safety.CooldownCycles);
        }

        // 9. History (and the policy log).
        var entry = new MetaHistoryEntry(_time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, scoring.Reward, ema,
            policyUpdate, before, knobs, hint, rollback);
        if (_policyLog is not null)
        {
            _policyLog.WriteLine(entry.BuildJson().ToJsonString(WireJson.Options));
            _policyLog.Flush();
        }
        state.RewardEma = ema;
        state.CooldownsRef = cooldowns;
        state.KnobsRef = knobs;
        state.DecisionCount = rev;
        if (rollback) state.RollbackCount++;
        state.History.Add(entry);

        // 10. Result.
        var successRate = (double)state.History.CountWithoutRollback() / state.History.Count;
        return new MetaUpdateResult(policyUpdate, hint, scoring, ema, rollback, knobs, cooldowns,
            state.DecisionCount, state.RollbackCount, telemetry.VramUtil, telemetry.LatencyMs, successRate);
    }

    /// <summary>new = round(clamp(old + delta, lo, hi), 10 decimals) (D8); applied when the knob is eligible and
    /// new != old (exact). Returns the knob's bit when it was written, else 0.</summary>
    private static int StepKnob(ref KnobVector knobs, in CooldownVector cooldowns, Knob knob, double delta, KnobBounds bounds)
    {
        if (cooldowns[knob] != 0) return 0;
        var old = knobs[knob];
        var next = RoundToGrid(bounds.Clamp(old + delta));
        if (next == old) return 0;
        knobs[knob] = next;
        return knob.Bit();
    }

    /// <summary>
    /// <paramref name="x"/> rounded to <see cref="KnobDecimals"/> decimals as the reference's round(x, 10) does:
    /// to the grid point nearest the double's exact value (ties to even: an odd multiple of 2^-11 is one), then to
    /// the nearest double. Math.Round(x, 10) scales by 1e10 first, and the product's own rounding can carry it
    /// across the midpoint: 0.9 + 5e-11 (exactly 0.90000000005000000263...) came out 0.9, so the step was lost.
    /// </summary>
    internal static double RoundToGrid(double x)
    {
        if (!double.IsFinite(x) || x == 0) return x;
        var bits = BitConverter.DoubleToInt64Bits(x);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = (ulong)bits & 0xF_FFFF_FFFF_FFFFUL;
        if (exponent == 0) exponent = 1;
        else mantissa |= 1UL << 52;
        var shift = 1075 - exponent; // |x| = mantissa * 2^-shift exactly
        if (shift <= 0) return x; // a whole number
        if (shift > 100) return x > 0 ? 0.0 : -0.0; // |x| < 2^-48: under half a grid step
        var scaled = (UInt128)mantissa * 10_000_000_000UL; // |x| * 1e10 * 2^shift, exact (< 2^87)
        var k = scaled >> shift;
        var rest = scaled - (k << shift);
        var half = UInt128.One << (shift - 1);
        if (rest > half || (rest == half && (k & 1) == 1)) k++;
        double magnitude;
        if (k < (UInt128)(1UL << 53))
        {
            magnitude = (double)(ulong)k / 1e10; // both exact: one correctly rounded division
        }
        else
        {
            Span<char> text = stackalloc char[48];
            k.TryFormat(text, out var length, default, CultureInfo.InvariantCulture);
            "E-10".AsSpan().CopyTo(text[length..]);
            magnitude = double.Parse(text[..(length + 4)], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return x < 0 ? -magnitude : magnitude;
    }

    private static int SetKnob(ref KnobVector knobs, Knob knob, double value)
    {
        knobs[knob] = value;
        return knob.Bit();
    }

    private static void SetCooldowns(ref CooldownVector cooldowns, int mask, int cycles)
    {
        for (var i = 0; i < Knobs.Count; i++)
            if ((mask & (1 << i)) != 0) cooldowns[i] = cycles;
    }

    /// <summary>Closes the policy log when the layer opened it (<see cref="MetaIntegrativeLayerOptions.PolicyLogPath"/>);
    /// a caller's writer stays open. <see cref="Update"/> then throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsPolicyLog) _policyLog?.Dispose();
    }
}
