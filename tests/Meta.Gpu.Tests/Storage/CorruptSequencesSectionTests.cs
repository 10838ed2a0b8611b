using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// DESIGN §11: "A corrupt or truncated file is detected; loading falls back to the newest valid backup with a
/// warning". A prior file whose <c>last_sequences</c> section no longer matches its own checksum is corrupt whichever
/// load reads it: <see cref="MetaStorageManager.LoadPrior"/> must not take it silently while
/// <see cref="MetaStorageManager.LoadPriorWithSequences"/> falls back, or the two give different priors for one root.
/// </summary>
public sealed class CorruptSequencesSectionTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly RecordingLogger _logger = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_prior_file_whose_sequences_fail_their_checksum_is_corrupt_for_the_plain_load_too()
    {
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path), _logger);
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 }, new Dictionary<string, long> { ["dom"] = 11 });
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 }, new Dictionary<string, long> { ["dom"] = 12 });
        // The newest backup is the main file's copy: without it the fallback is the first save, told apart by its value.
        File.Delete(storage.ListBackups(MetaStorageManager.PriorFileName)[0]);
        var text = File.ReadAllText(storage.PriorPath);
        Assert.Contains("\"dom\": 12", text, StringComparison.Ordinal);
        File.WriteAllText(storage.PriorPath, text.Replace("\"dom\": 12", "\"dom\": 13", StringComparison.Ordinal));

        Assert.Equal(1.0, storage.LoadPriorWithSequences()!.Prior["tau"]);
        var warningsBefore = _logger.AtLeast(LogLevel.Warning).Count;

        Assert.Equal(1.0, storage.LoadPrior()!["tau"]);
        var warnings = _logger.AtLeast(LogLevel.Warning).Skip(warningsBefore).ToList();
        Assert.Contains(warnings, w => w.Message.Contains("last_sequences checksum mismatch", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Message.Contains("loaded from backup", StringComparison.Ordinal));
    }
}
