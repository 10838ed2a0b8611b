namespace Meta.Gpu.Conformance;

/// <summary>The replayers the project ships, one per component kind of the reference traces.</summary>
public static class TraceReplayers
{
    public static IReadOnlyList<ITraceReplayer> All { get; } =
    [
        // Each component adds its replayer here.
        new Replayers.IntegrativeLayerReplayer(),
        new Replayers.SupervisorReplayer(() => new Runtime.EventBus()),
        new Replayers.AggregatorReplayer(),
        new Replayers.DomainLearnerReplayer(),
        new Replayers.OptimizerReplayer(),
        new Replayers.SchedulerReplayer(),
        new Replayers.AgentReplayer(() => new Runtime.EventBus()),
    ];

    public static ITraceReplayer? Find(string component) =>
        All.FirstOrDefault(r => string.Equals(r.Component, component, StringComparison.Ordinal));
}
