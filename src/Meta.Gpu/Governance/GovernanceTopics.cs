namespace Meta.Gpu.Governance;

/// <summary>The bus topics the supervisor reads and writes (DESIGN §3).</summary>
public static class GovernanceTopics
{
    /// <summary>Input: the governed engine's per-window metrics; each one drives an update.</summary>
    public const string ProcessingMetrics = "processing_metrics";

    /// <summary>Input: bus/device telemetry (latency, device memory); kept, replacing the previous one.</summary>
    public const string Telemetry = "telemetry";

    /// <summary>Input: the agent rolled its prior back; the supervisor skips the next two updates.</summary>
    public const string MetaRollbackActive = "meta_rollback_active";

    /// <summary>Output: the policy update of every update.</summary>
    public const string MetaPolicyUpdate = "meta_policy_update";

    /// <summary>Output: the resource profile, when an update changed it.</summary>
    public const string ResourceProfile = "resource_profile";

    /// <summary>Output: the layer's meta_telemetry after every update.</summary>
    public const string MetaMetrics = "meta_metrics";
}
