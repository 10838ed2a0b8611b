using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// <see cref="AtomicFile"/> flushes the folder after the rename (libc's fsync on Linux and macOS): without it a
/// power cut could take back the rename of a save the broker had been acknowledged on. A folder that cannot be
/// flushed is reported naming it and the system's reason, never passed over in silence.
/// </summary>
public sealed class FolderFlushTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_folder_is_flushed_without_error()
    {
        AtomicFile.FlushFolder(_folder.Path);
        var target = Path.Combine(_folder.Path, "sub", "file.json");
        AtomicFile.WriteAllBytes(target, [1, 2, 3]);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(target));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(target)!));
    }

    [Fact]
    public void A_folder_that_cannot_be_opened_for_its_flush_is_reported_naming_it_and_the_reason()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "folders are not flushed on Windows");
        var missing = Path.Combine(_folder.Path, "gone");
        var error = Assert.Throws<IOException>(() => AtomicFile.FlushFolder(missing));
        Assert.StartsWith($"{missing}: could not open the folder to flush a rename in it to disk: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", error.Message, StringComparison.Ordinal);
    }
}
