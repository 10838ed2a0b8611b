using Meta.Gpu.Learning;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Cli.Commands.Bus;

/// <summary>The learning agent's prior kept by <see cref="MetaStorageManager"/> (atomic files, backups), so that a
/// restarted aggregator starts from the prior it last saved.</summary>
internal sealed class StoragePriorStore(MetaStorageManager storage) : IPriorStore
{
    public void SavePrior(IReadOnlyDictionary<string, double> prior) => storage.SavePrior(prior);

    public IReadOnlyDictionary<string, double>? LoadPrior() => storage.LoadPrior();

    public long SizeBytes() => storage.SizeBytes();
}
