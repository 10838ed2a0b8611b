using System.Globalization;
using System.Text;

namespace Meta.Gpu.Storage;

/// <summary>
/// One writer process's exclusive hold on a storage root, for as long as it is not disposed: an OS lock on
/// <c>root/.lock</c> (released by the OS when the process dies, so a killed writer never leaves it held).
/// </summary>
/// <remarks>
/// Every save rewrites a whole file (the prior with every domain's last applied sequence, DESIGN §10/§11), so two
/// aggregators sharing a root would each erase what the other saved and had already acknowledged to the broker.
/// A host that writes a root (<c>meta-gpu serve</c>, the bus demo) takes this lock first and refuses to start
/// while another holds it. The lock is advisory: readers (inspection, tests) need none. The file stays in place
/// after release (deleting it would let two writers lock two different files); it holds the last holder's
/// process id, for a person looking.
/// </remarks>
public sealed class StorageRootLock : IDisposable
{
    public const string FileName = ".lock";

    /// <summary>Whether <paramref name="e"/> is an open that another holder's lock refused: ERROR_SHARING_VIOLATION on
    /// Windows; on Unix .NET reports flock's EWOULDBLOCK as its errno (11 on Linux, 35 on macOS).</summary>
    private static bool HeldByAnother(IOException e) => e.HResult is unchecked((int)0x80070020) or 11 or 35;

    private readonly FileStream _file;

    private StorageRootLock(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock on <paramref name="root"/> (created if missing).</summary>
    /// <exception cref="StorageLockedException">Another process (or another holder in this one) has it.</exception>
    /// <exception cref="InvalidInputException"><paramref name="root"/> is a file.</exception>
    public static StorageRootLock Acquire(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (File.Exists(root)) throw new InvalidInputException($"{root}: the storage folder is a file, not a folder");
        var path = System.IO.Path.Combine(System.IO.Path.GetFullPath(root), FileName);
        FileStream file;
        try
        {
            // Inside: a root still to create on a read-only or full file system threw the bare IOException of the
            // mkdir (a stack trace from the CLI), where an existing one there is refused as below.
            Directory.CreateDirectory(root);
            // FileShare.None is an exclusive OS lock on the open file (flock on Unix, a share mode on Windows).
            // Unbuffered: a process-id line the disk had no room for (ENOSPC) stayed in the buffer, and releasing the
            // lock threw it again, replacing the command's own outcome (an error line, a clean stop) with a stack trace.
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        }
        catch (IOException e) when (HeldByAnother(e))
        {
            throw new StorageLockedException(
                $"{root}: the storage folder is in use by another writer ({path} is locked): two aggregators must not share a storage folder; give each its own",
                e);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            // A read-only or full file system: not another writer, and the saves would fail too.
            throw new InvalidInputException($"{root}: the storage folder cannot be written: {e.Message}", e);
        }
        try
        {
            file.SetLength(0);
            file.Write(Encoding.UTF8.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"));
            file.Flush();
        }
        catch (IOException)
        {
            // The process id is for a person looking; the lock holds without it.
        }
        return new StorageRootLock(path, file);
    }

    public void Dispose() => _file.Dispose();
}
