using System.Runtime.Versioning;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// A backups folder that cannot be listed (its permissions broken) must not stop a load whose main file is good:
/// the backups are only a fallback. Where the main file is missing too, the load refuses (a backup the folder
/// may hold is not passed over as if there were none).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class UnreadableBackupsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose()
    {
        var backups = Path.Combine(_folder.Path, "backups");
        if (Directory.Exists(backups)) File.SetUnixFileMode(backups, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _folder.Dispose();
    }

    private MetaStorageManager SavedTwiceThenLocked()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "folder permissions are checked on Linux");
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 });
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 });
        File.SetUnixFileMode(Path.Combine(_folder.Path, "backups"), UnixFileMode.None);
        return storage;
    }

    private T Unprivileged<T>(Func<T> load)
    {
        if (ThreadWithoutFileOverride.Held) return ThreadWithoutFileOverride.Run(load);
        var listable = true;
        try { Directory.EnumerateFiles(Path.Combine(_folder.Path, "backups")).ToList(); }
        catch (UnauthorizedAccessException) { listable = false; }
        Assert.SkipWhen(listable, "this process reads any folder and cannot drop that capability");
        return load();
    }

    [Fact]
    public void A_good_main_prior_loads_when_the_backups_folder_cannot_be_listed()
    {
        var storage = SavedTwiceThenLocked();
        var prior = Unprivileged(() => storage.LoadPrior());
        Assert.Equal(2.0, prior!["tau"]);
    }

    [Fact]
    public void A_missing_main_prior_with_an_unlistable_backups_folder_is_refused_naming_both()
    {
        var storage = SavedTwiceThenLocked();
        File.Delete(Path.Combine(_folder.Path, MetaStorageManager.PriorFileName));
        var e = Assert.Throws<InvalidDataException>(() => Unprivileged(() => storage.LoadPrior()));
        Assert.Contains("missing", e.Message);
        Assert.Contains("backups", e.Message);
    }
}
