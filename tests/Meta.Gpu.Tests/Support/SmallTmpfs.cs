using System.Diagnostics;

namespace Meta.Gpu.Tests.Support;

/// <summary>
/// A tiny file system to fill (a 256 KiB tmpfs) for the full-disk tests: mounting needs root on Linux, and the test
/// is skipped otherwise. Disposing unmounts it and removes its folder.
/// </summary>
internal sealed class SmallTmpfs : IDisposable
{
    public const int Page = 4096;

    private bool _mounted;

    private SmallTmpfs(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a small tmpfs at <paramref name="path"/> (created), or skips the test.</summary>
    public static SmallTmpfs MountOrSkip(string path)
    {
        var tmpfs = new SmallTmpfs(path);
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", path) != 0)
        {
            tmpfs.Dispose();
            Assert.Skip("needs root on Linux to mount a small tmpfs");
        }
        tmpfs._mounted = true;
        return tmpfs;
    }

    /// <summary>Fills the file system with one file, then frees <paramref name="pagesFree"/> whole pages of it
    /// (0: only empty files can be made now); returns that file.</summary>
    public string Fill(int pagesFree = 0)
    {
        var filler = System.IO.Path.Combine(Path, "filler");
        using var stream = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        var chunk = new byte[Page];
        try
        {
            while (true) stream.Write(chunk);
        }
        catch (IOException)
        {
            // Full.
        }
        if (pagesFree > 0) stream.SetLength(Math.Max(0, stream.Length / Page * Page - (long)pagesFree * Page));
        return filler;
    }

    /// <summary>Remounts the file system read-only: every write is then EROFS.</summary>
    public void MakeReadOnly() => Assert.Equal(0, Run("mount", "-o", "remount,ro", Path));

    public void Dispose()
    {
        if (_mounted) Run("umount", "-l", Path);
        _mounted = false;
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    private static int Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.WaitForExit();
        return p.ExitCode;
    }
}
