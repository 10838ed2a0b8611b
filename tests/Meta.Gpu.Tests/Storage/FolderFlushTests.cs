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
    public void A_commit_whose_folder_cannot_be_flushed_fails_naming_the_folder_with_the_new_file_in_place()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "folders are not flushed on Windows");
        Assert.SkipWhen(Environment.IsPrivilegedProcess, "a privileged process opens any folder");
        var folder = Path.Combine(_folder.Path, "sealed");
        var target = Path.Combine(folder, "file.json");
        AtomicFile.WriteAllBytes(target, [1]);
        using (var file = AtomicFile.Create(target))
        {
            file.Stream.Write([2]);
            // Write and search only: the rename in it still works, opening it to flush does not.
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder, UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            try
            {
                var error = Assert.Throws<IOException>(file.Commit);
                Assert.StartsWith($"{folder}: could not open the folder to flush a rename in it to disk: ", error.Message, StringComparison.Ordinal);
            }
            finally
            {
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        Assert.Equal([2], File.ReadAllBytes(target));
        Assert.Single(Directory.GetFiles(folder));
    }

    [Fact]
    public void A_file_system_that_does_not_sync_folders_is_taken_as_it_is()
    {
        // procfs has no fsync for its folders: fsync answers EINVAL there, as on file systems that do not sync them.
        Assert.SkipUnless(OperatingSystem.IsLinux() && Directory.Exists("/proc/self"), "needs Linux's procfs");
        AtomicFile.FlushFolder("/proc");
    }

    [Fact]
    public void A_flush_closes_the_folder_it_opened()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd"), "needs Linux's /proc/self/fd");
        AtomicFile.WriteAllBytes(Path.Combine(_folder.Path, "file.json"), [1]);
        AtomicFile.FlushFolder(_folder.Path);

        // Each save opened the folder once more: left open, the process ran out of descriptors.
        var open = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(_folder.Path, StringComparison.Ordinal)) open.Add(target);
            }
            catch (IOException)
            {
                // A descriptor closed meanwhile (another test's).
            }
        }
        Assert.Empty(open);
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
