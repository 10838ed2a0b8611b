namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Raised by a combine over rows that were not scanned (<see cref="CpuBackend.CombineUnscanned"/>) when it reads a
/// non-finite cell: the round's eligibility guess was wrong and the caller redoes it from a row scan. Any worker
/// may raise it; it is read after the parallel work has joined.
/// </summary>
internal sealed class NonFiniteSignal
{
    private volatile bool raised;

    public bool Raised => raised;

    public void Raise() => raised = true;
}
