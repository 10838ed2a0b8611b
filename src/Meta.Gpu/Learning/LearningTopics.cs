namespace Meta.Gpu.Learning;

/// <summary>The bus topics the learning agent reads and writes (DESIGN §3, §10).</summary>
public static class LearningTopics
{
    /// <summary>Input: a domain's metrics and knob-sized parameters {domain_id, metrics, controller, evaluator}.</summary>
    public const string PolicyPack = "federation.policy_pack";

    /// <summary>Input: the governed engine's per-window metrics; each one is a scheduler window.</summary>
    public const string ProcessingMetrics = "processing_metrics";

    /// <summary>A domain's dense update (DESIGN §10 dense lane).</summary>
    public const string DenseUpdate = DenseLearningLane.UpdateTopic;

    /// <summary>The dense prior after a dense round.</summary>
    public const string MetaDensePrior = DenseLearningLane.PriorTopic;

    /// <summary>Output: the round's <see cref="MetaLearningTelemetry"/>.</summary>
    public const string MetaTelemetry = MetaMetrics.Topic;

    /// <summary>Output: the optimizer rolled the prior back {source: "optimizer", reward}.</summary>
    public const string MetaRollbackActive = "meta_rollback_active";

    /// <summary>Output: the knob values of the global prior {controller {tau, gamma_diversity}, evaluator {g_min, lambda_ci}}.</summary>
    public const string MetaPriorUpdate = "meta_prior_update";

    /// <summary>Output: {prior (the global prior), meta (the aggregation's)}.</summary>
    public const string MetaUpdate = "meta_update";
}
