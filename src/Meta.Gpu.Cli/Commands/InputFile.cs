using System.Text;
using System.Text.Unicode;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// The files a command reads or appends to, named by the user: a folder where a file is expected, or a file that
/// is not there, is a one-line error naming the path. The runtime says "Access to the path ... is denied" for a
/// folder, which sends the user after permissions.
/// </summary>
internal static class InputFile
{
    /// <summary>Refuses a missing file or a folder; <paramref name="what"/> names the argument (e.g. "--config").</summary>
    public static void CheckReadable(string path, string? what = null)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException($"{what ?? "input"}: must name a file");
        var named = what is null ? path : $"{what} {path}";
        if (Directory.Exists(path)) throw new InvalidInputException($"{named}: is a folder, expected a file");
        if (!File.Exists(path)) throw new InvalidInputException($"{named}: no such file");
    }

    /// <summary>A file that is there but cannot be opened or read (a link to itself: "Too many levels of symbolic
    /// links", a read error): the runtime's IOException escaped the commands as an unhandled exception.</summary>
    private static InvalidInputException CannotRead(string path, string? what, IOException e) =>
        new($"{(what is null ? path : $"{what} {path}")}: cannot read ({IoFailure.Reason(e)})", e);

    /// <summary>Refuses a file larger than one array can hold (Array.MaxLength bytes), for the readers that take a
    /// file whole: the runtime's IOException ("The file is too long") escaped as a stack trace. A pipe's length is
    /// 0 here and is read as before.</summary>
    private static void CheckFitsOneRead(string path, string? what)
    {
        if (new FileInfo(path).Length is var length && length > Array.MaxLength)
            throw new InvalidInputException($"{(what is null ? path : $"{what} {path}")}: {length} bytes, more than the {Array.MaxLength} one read can hold");
    }

    /// <summary>Refuses a folder where a file is to be written or appended to, and a file in a folder that is not
    /// there (the runtime's "Could not find a part of the path" names neither the option nor the folder).</summary>
    public static void CheckWritable(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException($"{what}: must name a file");
        if (Directory.Exists(path)) throw new InvalidInputException($"{what} {path}: is a folder, expected a file");
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder && !Directory.Exists(folder))
            throw new InvalidInputException($"{what} {path}: no such folder {folder}");
    }

    /// <summary>Whether two paths name one file (links resolved, folders reached through links too where the
    /// system tells an open file's path), such as a log that is also the input. A hard link is not seen: a reader
    /// of <see cref="AsItIsNow"/> is safe from it anyway.</summary>
    public static bool SameFile(string a, string b) => string.Equals(Resolved(a), Resolved(b), StringComparison.Ordinal);

    /// <summary>Whether the process's standard input is redirected from <paramref name="path"/> (<c>&lt; file</c>), where
    /// the system tells the file behind it; false where it is a pipe or a terminal. A hard link is not seen.</summary>
    public static bool IsStandardInput(string path)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return File.ResolveLinkTarget("/proc/self/fd/0", returnFinalTarget: false) is { } target
                && string.Equals(target.FullName, Resolved(path), StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary><see cref="AsItIsNow"/>, opened on the pool: opening a pipe waits for its writer, and Ctrl-C must
    /// stop that wait.</summary>
    public static Task<Stream> OpenAsItIsNowAsync(string path, CancellationToken token) =>
        Task.Run(() => AsItIsNow(path), token).WaitAsync(token);

    /// <summary>The file's first bytes up to its length now (see <see cref="LengthLimitedStream"/>).</summary>
    public static Stream AsItIsNow(string path)
    {
        FileStream file;
        try
        {
            file = File.OpenRead(path);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw CannotRead(path, null, e);
        }
        // A pipe given by path (/dev/stdin, <(tail -f log)) has no length, and nothing is appended to it by us.
        return file.CanSeek ? new LengthLimitedStream(file, file.Length) : file;
    }

    private static string Resolved(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && OperatingSystem.IsLinux())
        {
            try
            {
                // The kernel's own path of the open file: every link on the way resolved.
                using var handle = File.OpenHandle(full);
                if (File.ResolveLinkTarget($"/proc/self/fd/{handle.DangerousGetHandle()}", returnFinalTarget: false) is { } target) return target.FullName;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Fall back to the path's own links below.
            }
        }
        // A file not there yet (a new --policy-log) is compared by its path: resolving its links threw "no such
        // file", and govern refused to create the log it was asked for.
        var info = new FileInfo(full);
        if (info.LinkTarget is null) return full;
        try
        {
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    /// <summary>The file as UTF-8, exactly the bytes that the text File.ReadAllTextAsync reads encodes to (a UTF-8
    /// byte order mark dropped, a UTF-16 or UTF-32 file with its mark decoded, bytes that are no UTF-8 replaced by
    /// U+FFFD), without the text: a large input read as UTF-16 text first took twice its size, then its bytes
    /// again, and one of more than 2^30 characters fits no string.</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadAllUtf8Async(string path, CancellationToken token, string? what = null)
    {
        CheckReadable(path, what);
        CheckFitsOneRead(path, what);
        // On the pool: a pipe given by path waits for its writer in the open, which sees no token; Ctrl-C stops the wait.
        byte[] bytes;
        try
        {
            bytes = await Task.Run(() => File.ReadAllBytesAsync(path, token), token).WaitAsync(token).ConfigureAwait(false);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw CannotRead(path, what, e);
        }
        // The marks a reader of text recognises (UTF-16 BE, UTF-16 or UTF-32 LE, UTF-32 BE), and bytes that are
        // no UTF-8, are rare: they take the text's own way, so that they read as they always did.
        if (bytes is [0xFE, 0xFF, ..] or [0xFF, 0xFE, ..] or [0x00, 0x00, 0xFE, 0xFF, ..] || !Utf8.IsValid(bytes))
        {
            using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return Encoding.UTF8.GetBytes(await reader.ReadToEndAsync(token).ConfigureAwait(false));
        }
        return bytes is [0xEF, 0xBB, 0xBF, ..] ? bytes.AsMemory(3) : bytes;
    }
}
