using System.Diagnostics;
using System.Globalization;

namespace Meta.Gpu.Tests.Support;

/// <summary>
/// Waits until a started process has settled: its CPU time (Linux /proc) has not moved for a while, so it is past
/// start-up (runtime, JIT, signal handlers) and blocked on what it waits for. A fixed sleep stood in for this and was
/// too short on a loaded machine, where start-up alone can take longer.
/// </summary>
internal static class ProcessSettled
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static async Task WaitAsync(Process process, TimeSpan quiet, TimeSpan limit)
    {
        var stat = $"/proc/{process.Id.ToString(CultureInfo.InvariantCulture)}/stat";
        if (!File.Exists(stat))
        {
            // No /proc (not Linux): the fixed wait it replaces.
            await Task.Delay(quiet * 4);
            return;
        }
        var clock = Stopwatch.StartNew();
        long last = -1;
        var unchangedSince = TimeSpan.Zero;
        // At least the quiet span after start, so that a process not yet scheduled is not taken for a settled one.
        while (clock.Elapsed < limit)
        {
            Assert.False(process.HasExited, $"the process exited while starting (exit {(process.HasExited ? process.ExitCode : 0)})");
            var cpu = CpuTicks(File.ReadAllText(stat));
            if (cpu != last)
            {
                last = cpu;
                unchangedSince = clock.Elapsed;
            }
            else if (cpu > 0 && clock.Elapsed - unchangedSince >= quiet)
            {
                return;
            }
            await Task.Delay(Poll);
        }
        Assert.Fail($"the process was still busy after {limit.TotalSeconds} s");
    }

    /// <summary>utime + stime: the 14th and 15th fields, counted after the command name's closing parenthesis
    /// (the name may hold spaces).</summary>
    private static long CpuTicks(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is the 3rd field (state): utime is the 14th field, stime the 15th.
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
}
