using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Support;

/// <summary>The agent configuration of the tests that drive it window by window.</summary>
internal static class AgentTestConfig
{
    /// <summary>An update every window (no jitter), a validator floor of 0.05 rather than 0.1 (a steady domain's
    /// first packs pass), and the plain mean, so that a test can state the prior it expects.</summary>
    public static readonly MetaLearningConfig EveryWindow = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
        Validator = new ValidatorConfig(MinConfidence: 0.05),
        Cross = CrossMetaConfig.Compat with { Method = AggregationMethod.Mean },
    };
}
