using Meta.Gpu.Tests.Storage;

namespace Meta.Gpu.Tests.Bench;

/// <summary>An executable shell script standing in for the peers' Python (it ignores its arguments unless
/// <c>body</c> reads them).</summary>
internal static class FakePython
{
    public static string Write(TempFolder folder, string body)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("a shell script stands in for Python");
        var path = Path.Combine(folder.Path, "fake-python");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
