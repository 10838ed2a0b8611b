using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// A storage root on a tiny tmpfs (needs root to mount; skipped otherwise) that fills up mid-save (ENOSPC):
/// the previous file must stay whole, no half-written temp may be left holding the space, and the next save
/// once space is freed must succeed.
/// </summary>
public sealed class FullDiskTests : IDisposable
{
    private const int Page = SmallTmpfs.Page;
    private readonly RecordingLogger _logger = new();
    private SmallTmpfs? _tmpfs;

    public void Dispose() => _tmpfs?.Dispose();

    private MetaStorageManager MountedStorage()
    {
        _tmpfs = SmallTmpfs.MountOrSkip(Path.Combine(Path.GetTempPath(), "meta-gpu-fulldisk-" + Guid.NewGuid().ToString("N")[..8]));
        return new MetaStorageManager(new StorageConfig(Path.Combine(_tmpfs.Path, "store")), _logger);
    }

    /// <summary>Fills the file system, then frees <paramref name="pagesFree"/> pages.</summary>
    private string Fill(int pagesFree) => _tmpfs!.Fill(pagesFree);

    private static Dictionary<string, double> Prior(double value, int keys) =>
        Enumerable.Range(0, keys).ToDictionary(k => $"knob_{k:D5}", _ => value, StringComparer.Ordinal);

    private static string[] Temps(string folder) =>
        Directory.Exists(folder) ? Directory.GetFiles(folder, "*" + AtomicFile.TempExtension) : [];

    [Fact]
    public void A_save_that_fills_the_disk_keeps_the_old_prior_and_leaves_no_temp_behind()
    {
        var storage = MountedStorage();
        storage.SavePrior(Prior(1, 10));
        var filler = Fill(pagesFree: 1); // the new prior needs several pages: the temp fills the disk part-way

        var error = Assert.ThrowsAny<IOException>(() => storage.SavePrior(Prior(2, 600)));
        Assert.Contains("No space left", error.Message, StringComparison.Ordinal);
        Assert.Equal(1.0, storage.LoadPrior()!["knob_00000"]);
        // AtomicFile: "disposing without Commit deletes the temp file". A half-written temp holds the little space
        // that was left, for an hour (StaleTempAge), and is counted in meta_storage_mb.
        Assert.Empty(Temps(storage.Root));

        File.Delete(filler);
        storage.SavePrior(Prior(3, 600));
        Assert.Equal(3.0, storage.LoadPrior()!["knob_00000"]);
    }

    [Fact]
    public void A_backup_that_fills_the_disk_is_logged_and_leaves_no_temp_behind()
    {
        var storage = MountedStorage();
        storage.SavePrior(Prior(1, 10)); // one page
        long newSize;
        using (var scratch = new TempFolder())
        {
            var probe = new MetaStorageManager(new StorageConfig(scratch.Path, Retention: 0));
            probe.SavePrior(Prior(2, 400));
            newSize = new FileInfo(probe.PriorPath).Length;
        }
        var pages = (int)((newSize + Page - 1) / Page);
        // The new prior takes several pages: the main file fits (the old one is freed by the rename), its
        // backup copy does not.
        Fill(pagesFree: pages);

        storage.SavePrior(Prior(2, 400));

        Assert.Equal(2.0, storage.LoadPrior()!["knob_00000"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("backup failed", StringComparison.Ordinal));
        Assert.Empty(Temps(storage.BackupsPath));
    }

    [Fact]
    public void A_small_dense_prior_that_fills_the_disk_leaves_no_temp_behind()
    {
        var storage = MountedStorage();
        storage.SaveDensePrior(new float[16], 1, new Dictionary<string, long>());
        Fill(pagesFree: 1);

        Assert.ThrowsAny<IOException>(() => storage.SaveDensePrior(new float[4000], 2, new Dictionary<string, long>()));
        Assert.Equal(1, storage.LoadDensePrior()!.Round);
        Assert.Empty(Temps(storage.Root));
    }
}
