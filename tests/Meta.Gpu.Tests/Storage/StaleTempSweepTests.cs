using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// <see cref="AtomicFile"/>: "A writer killed mid-write leaves its temp file behind; later writes to the same target
/// delete such leftovers once they are older than StaleTempAge (younger ones may belong to a writer that is still
/// running)". For the main files (the backups' leftovers are swept by the prune, see MetaStorageManagerTests): each is
/// a whole prior, counted in meta_storage_mb for as long as it stays.
/// </summary>
public sealed class StaleTempSweepTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Temp(string target, string random, TimeSpan age)
    {
        var path = $"{target}.{random}{AtomicFile.TempExtension}";
        File.WriteAllBytes(path, new byte[128]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Fact]
    public void A_save_sweeps_its_own_files_temps_older_than_the_stale_age_and_keeps_the_rest()
    {
        Assert.Equal(TimeSpan.FromHours(1), AtomicFile.StaleTempAge);
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path, 2));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 });
        var stale = Temp(storage.PriorPath, "0123456789ab", TimeSpan.FromMinutes(61));
        var young = Temp(storage.PriorPath, "0123456789ac", TimeSpan.FromMinutes(59));
        var otherFiles = Temp(storage.DomainVectorsPath, "0123456789ad", TimeSpan.FromDays(1));

        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 });

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(young)); // may belong to a writer still running
        Assert.True(File.Exists(otherFiles)); // swept by that file's own saves
        Assert.Equal(2.0, storage.LoadPrior()!["tau"]);
    }
}
