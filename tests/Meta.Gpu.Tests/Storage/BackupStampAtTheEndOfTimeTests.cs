using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// A new backup's stamp is forced one tick past the newest existing one (so a clock stepping back does not reorder
/// them). A file in <c>backups/</c> stamped with the last tick a stamp can spell (a clock set far ahead, a copy named
/// by hand) left no tick past it: the DateTime constructor threw <see cref="ArgumentOutOfRangeException"/>, which the
/// backup's own failure handling does not catch, so every save threw after its main file was committed (the caller
/// holds its acknowledgements on a save that happened) and kept doing so until someone found the file. A backup that
/// cannot be written is logged and the save still counts (README "Storage", MetaStorageManager's remarks).
/// </summary>
public sealed class BackupStampAtTheEndOfTimeTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly RecordingLogger _logger = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_backup_stamped_at_the_last_tick_does_not_fail_the_save()
    {
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path), _logger);
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 });
        File.Copy(storage.ListBackups(MetaStorageManager.PriorFileName)[0],
            Path.Combine(storage.BackupsPath, "global_prior.99991231T235959.9999999Z.json"));

        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 });
        storage.SaveDensePrior([1f], 1, new Dictionary<string, long>());

        Assert.Equal(2.0, storage.LoadPrior()!["tau"]);
        Assert.Equal([1f], storage.LoadDensePrior()!.Values);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("global_prior.99991231T235959.9999999Z.json: stamped at the last tick", StringComparison.Ordinal));
    }
}
