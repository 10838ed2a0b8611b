namespace Meta.Gpu.Cli.Bench;

/// <summary>One planned row: a workload on a backend over the data of size <see cref="DataN"/> x <see cref="D"/>.</summary>
/// <remarks><see cref="N"/> is what the row reports: the rows the workload reads (1 for the lone Reptile step,
/// the subscriber count for the bus, 1 for a governance call).</remarks>
public sealed record BenchCase(string Workload, string Backend, int DataN, int D)
{
    public int N => Workload switch
    {
        BenchWorkloads.ReptileStep => 1,
        BenchWorkloads.GovernanceUpdate => 1,
        BenchWorkloads.BusDelivery => BusWorkload.Subscribers,
        _ => DataN,
    };

    public string Label => $"{Workload} {Backend} n={N} d={D}";
}
