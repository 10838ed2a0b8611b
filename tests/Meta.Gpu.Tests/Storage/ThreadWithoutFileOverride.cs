using System.Runtime.InteropServices;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// Runs code on the calling thread without the capabilities that let root read any folder (CAP_DAC_OVERRIDE,
/// CAP_DAC_READ_SEARCH), so a test run as root (as CI is) can meet an unreadable folder. Linux capabilities are
/// per thread: only the effective set is cleared, and restored afterwards from the permitted set.
/// </summary>
internal static class ThreadWithoutFileOverride
{
    private const uint Version3 = 0x20080522;
    private const uint DacOverride = 1u << 1;
    private const uint DacReadSearch = 1u << 2;

    [StructLayout(LayoutKind.Sequential)]
    private struct Header
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Data
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int capget(ref Header header, [Out] Data[] data);

    [DllImport("libc", SetLastError = true)]
    private static extern int capset(ref Header header, [In] Data[] data);

    /// <summary>Whether the caller holds the override at all (root); without it a chmod already binds.</summary>
    public static bool Held
    {
        get
        {
            if (!OperatingSystem.IsLinux()) return false;
            var header = new Header { Version = Version3 };
            var data = new Data[2];
            return capget(ref header, data) == 0 && (data[0].Effective & (DacOverride | DacReadSearch)) != 0;
        }
    }

    public static T Run<T>(Func<T> action)
    {
        var header = new Header { Version = Version3 };
        var saved = new Data[2];
        if (capget(ref header, saved) != 0) throw new InvalidOperationException($"capget failed: errno {Marshal.GetLastPInvokeError()}");
        var reduced = (Data[])saved.Clone();
        reduced[0].Effective &= ~(DacOverride | DacReadSearch);
        if (capset(ref header, reduced) != 0) throw new InvalidOperationException($"capset failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            return action();
        }
        finally
        {
            if (capset(ref header, saved) != 0) throw new InvalidOperationException($"capset (restore) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
