using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// A stored file replaced by a folder of its name (a restore gone wrong, an archive unpacked in the wrong place)
/// was reported as a missing file: the fallback's warning said "global_prior.json: missing" where a folder stands,
/// sending the operator to look for a deleted file (and each later save then failed with "Is a directory"). Loading
/// says which file and what is wrong with it (README "Storage"): a folder is named as one.
/// </summary>
public sealed class MainFileReplacedByAFolderTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly RecordingLogger _logger = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage(int retention = 10) => new(new StorageConfig(_folder.Path, retention), _logger);

    private static void ReplaceByAFolder(string path)
    {
        File.Delete(path);
        Directory.CreateDirectory(path);
    }

    [Fact]
    public void A_prior_file_replaced_by_a_folder_is_named_as_a_folder_and_the_backup_loads()
    {
        var storage = Storage();
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 });
        ReplaceByAFolder(storage.PriorPath);

        Assert.Equal(1.0, storage.LoadPrior()!["tau"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("global_prior.json: a folder, not a file", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dense_file_replaced_by_a_folder_is_named_as_a_folder_and_the_backup_loads()
    {
        var storage = Storage();
        storage.SaveDensePrior([1f], 1, new Dictionary<string, long>());
        ReplaceByAFolder(storage.DensePriorPath);

        Assert.Equal(1, storage.LoadDensePrior()!.Round);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("dense_prior.mgpu: a folder, not a file", StringComparison.Ordinal));
    }
}
