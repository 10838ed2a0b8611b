using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Storage;
using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>A `--storage` folder as a bus demo run with the demo's defaults (seed 42, K 10, 5 inner steps, lr 0.05,
/// beta 0.1) leaves it at <c>round</c> with domains domain-000 onwards: the initial prior, each domain's last sequence
/// the run's base plus the round, and the run's record.</summary>
internal static class SavedSineRun
{
    public static void Write(string storage, long round, int domains)
    {
        using var init = new SineRegressor(42, 0.05);
        using var parameters = new ParameterVector(init.Module);
        var prior = new float[parameters.Length];
        parameters.CopyTo(prior);
        const long sequenceBase = 1_000_000;
        new MetaStorageManager(new StorageConfig(storage)).SaveDensePrior(prior, round,
            Enumerable.Range(0, domains).ToDictionary(i => $"domain-{i:000}", _ => sequenceBase + round));
        new DemoRunRecord(42, 10, 5, 0.05, 0.1).Save(storage);
    }
}
