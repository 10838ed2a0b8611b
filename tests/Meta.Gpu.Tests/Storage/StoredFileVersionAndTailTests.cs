using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// DESIGN §11: "A corrupt or truncated file is detected; loading falls back to the newest valid backup with a
/// warning". Two ways a stored file is not what this build wrote that its checksum does not catch: a JSON envelope of
/// another version (the checksum covers the content only), and bytes after a dense file's checksum (the checksum
/// covers what comes before it). Each root keeps one older save as its only backup, so a load that took the main file
/// gives the newer value and a fallback the older one.
/// </summary>
public sealed class StoredFileVersionAndTailTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly RecordingLogger _logger = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage() => new(new StorageConfig(_folder.Path), _logger);

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void A_prior_file_of_another_version_is_refused_and_the_backup_loads(int version)
    {
        var storage = Storage();
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 });
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 });
        File.Delete(storage.ListBackups(MetaStorageManager.PriorFileName)[0]); // the main file's own copy
        var text = File.ReadAllText(storage.PriorPath);
        Assert.Contains("\"version\": 1,", text, StringComparison.Ordinal);
        File.WriteAllText(storage.PriorPath, text.Replace("\"version\": 1,", $"\"version\": {version},", StringComparison.Ordinal));

        Assert.Equal(1.0, storage.LoadPrior()!["tau"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains($"unsupported version {version} (this build reads version 1)", StringComparison.Ordinal));
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("loaded from backup", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dense_file_with_bytes_after_its_checksum_is_corrupt_and_the_backup_loads()
    {
        var storage = Storage();
        storage.SaveDensePrior([1f, 1f], 1, new Dictionary<string, long> { ["a"] = 1 });
        storage.SaveDensePrior([2f, 2f], 2, new Dictionary<string, long> { ["a"] = 2 });
        File.Delete(storage.ListBackups(MetaStorageManager.DensePriorFileName)[0]);
        using (var file = new FileStream(storage.DensePriorPath, FileMode.Append)) file.Write([0, 0, 0]);

        var loaded = storage.LoadDensePrior()!;

        Assert.Equal(1, loaded.Round);
        Assert.Equal([1f, 1f], loaded.Values);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("dense_prior.mgpu: 3 unexpected bytes after the checksum", StringComparison.Ordinal));
    }
}
