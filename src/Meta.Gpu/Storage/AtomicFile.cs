using System.Runtime.InteropServices;

namespace Meta.Gpu.Storage;

/// <summary>
/// Replaces a file so that a crash at any moment leaves either the old file or the new one, whole (DESIGN §11):
/// write a temp file in the same folder, flush it to disk, rename it over the target, flush the folder. Use:
/// <c>using var file = AtomicFile.Create(path); write file.Stream; file.Commit();</c> — disposing without
/// <see cref="Commit"/> deletes the temp file and leaves the target untouched.
/// </summary>
/// <remarks>
/// Temp files are named <c>&lt;name&gt;.&lt;random&gt;.tmp</c>; readers never look at <c>*.tmp</c>. A writer killed
/// mid-write leaves its temp file behind; later writes to the same target delete such leftovers once they are
/// older than <see cref="StaleTempAge"/> (younger ones may belong to a writer that is still running); a target that
/// is never written again (a timestamped backup) has its owner sweep them (<see cref="DeleteStaleTemps(string, string)"/>).
/// <para>On Linux, macOS and FreeBSD the folder is fsynced after the rename (.NET has no call for it: libc's
/// <c>open</c>/<c>fsync</c>), so that once <see cref="Commit"/> returns a power cut cannot take the rename back (the
/// storage acknowledges on it, DESIGN §10). A folder that cannot be opened or flushed fails the commit with an
/// <see cref="IOException"/> naming it, the new file already in place: the caller then takes the write for failed
/// (holds its acknowledgements) though the file may survive. A file system that does not sync folders
/// (<c>EINVAL</c>) is taken as it is. Elsewhere (Windows) the folder is not flushed. A folder that the write itself
/// creates is not flushed into its parent.</para>
/// </remarks>
public sealed partial class AtomicFile : IDisposable
{
    public const string TempExtension = ".tmp";

    public static readonly TimeSpan StaleTempAge = TimeSpan.FromHours(1);

    private readonly string _path;
    private readonly string _temp;
    private FileStream? _stream;
    private bool _committed;

    private AtomicFile(string path)
    {
        _path = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(folder);
        DeleteStaleTemps(_path);
        _temp = $"{_path}.{Guid.NewGuid().ToString("N")[..12]}{TempExtension}";
        _stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
    }

    /// <summary>Where to write the new content.</summary>
    public Stream Stream => _stream ?? throw new ObjectDisposedException(nameof(AtomicFile));

    public static AtomicFile Create(string path) => new(path);

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        using var file = Create(path);
        file.Stream.Write(content);
        file.Commit();
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> atomically.</summary>
    public static void Copy(string source, string destination)
    {
        using var file = Create(destination);
        using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            input.CopyTo(file.Stream);
        file.Commit();
    }

    public static bool IsTemp(string path) => path.EndsWith(TempExtension, StringComparison.Ordinal);

    /// <summary>Flushes the content to disk, renames it over the target and flushes the folder (see the remarks).</summary>
    /// <exception cref="IOException">Also when the folder cannot be flushed: the target is then already replaced.</exception>
    public void Commit()
    {
        var stream = _stream ?? throw new ObjectDisposedException(nameof(AtomicFile));
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        _stream = null;
        File.Move(_temp, _path, overwrite: true);
        _committed = true;
        FlushFolder(Path.GetDirectoryName(_path)!);
    }

    private const int ReadOnly = 0; // O_RDONLY, 0 on every Unix; a folder opens with it
    private const int Interrupted = 4; // EINTR on Linux, macOS and FreeBSD
    private const int NotSupported = 22; // EINVAL likewise: fsync on a file system that does not sync folders

    // O_CLOEXEC, so that a process started meanwhile does not inherit the descriptor.
    private static int CloseOnExec => OperatingSystem.IsMacOS() ? 0x1000000 : OperatingSystem.IsFreeBSD() ? 0x100000 : 0x80000;

    /// <summary>Flushes <paramref name="folder"/>'s entries (a rename in it) to disk; nothing on Windows.</summary>
    /// <exception cref="IOException">The folder cannot be opened or flushed, naming it and the system's reason.</exception>
    internal static void FlushFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD()) return;
        int fd, errno;
        do
        {
            fd = Open(folder, ReadOnly | CloseOnExec);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (fd < 0 && errno == Interrupted);
        if (fd < 0) throw new IOException($"{folder}: could not open the folder to flush a rename in it to disk: {Marshal.GetPInvokeErrorMessage(errno)}");
        try
        {
            int result;
            do
            {
                result = FSync(fd);
                errno = result != 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            while (result != 0 && errno == Interrupted);
            if (result != 0 && errno != NotSupported)
                throw new IOException($"{folder}: could not flush a rename in the folder to disk: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        finally
        {
            Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    public void Dispose()
    {
        try
        {
            _stream?.Dispose();
        }
        catch (IOException) when (!_committed)
        {
            // The flush that failed in Commit (a full disk) fails again here: the temp goes below all the same, and
            // the caller already has Commit's error. Thrown, this skipped the delete and left the temp behind.
        }
        finally
        {
            _stream = null;
            if (!_committed) TryDelete(_temp);
        }
    }

    private static void DeleteStaleTemps(string path) =>
        DeleteStaleTemps(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*" + TempExtension);

    /// <summary>Deletes the temp files in <paramref name="folder"/> matching <paramref name="pattern"/> (ending in
    /// <see cref="TempExtension"/>) that are older than <see cref="StaleTempAge"/>: for targets never written again
    /// (a timestamped backup), whose leftovers the sweep of each write would not meet.</summary>
    public static void DeleteStaleTemps(string folder, string pattern)
    {
        if (!pattern.EndsWith(TempExtension, StringComparison.Ordinal)) throw new ArgumentException($"a temp pattern ends in {TempExtension}", nameof(pattern));
        if (!Directory.Exists(folder)) return;
        var cutoff = DateTime.UtcNow - StaleTempAge;
        foreach (var temp in Directory.EnumerateFiles(folder, pattern))
        {
            if (File.GetLastWriteTimeUtc(temp) < cutoff) TryDelete(temp);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp file is ignored by every reader and removed by a later write.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
