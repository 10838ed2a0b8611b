namespace Meta.Gpu.Governance;

/// <summary>How a <see cref="MetaIntegrativeLayer"/> runs, apart from its configuration.</summary>
public sealed record MetaIntegrativeLayerOptions
{
    public static MetaIntegrativeLayerOptions Default { get; } = new();

    /// <summary>Where each call's history entry goes as one JSON line (DESIGN §5 step 9); the caller owns the
    /// writer. Null (the default) keeps no log, and <see cref="MetaIntegrativeLayer.Update"/> then allocates nothing.</summary>
    public TextWriter? PolicyLog { get; init; }

    /// <summary>A file to append the policy log to (created when missing); the layer owns it and closes it on
    /// <see cref="MetaIntegrativeLayer.Dispose"/>. Ignored when <see cref="PolicyLog"/> is set.</summary>
    public string? PolicyLogPath { get; init; }

    /// <summary>The clock of the history's timestamps.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
