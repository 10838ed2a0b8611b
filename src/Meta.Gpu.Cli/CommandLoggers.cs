using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Cli;

/// <summary>The log of the long-running commands (<c>serve</c>, <c>domain</c>, <c>demo --bus</c>): warnings and
/// errors, one line each, on standard error, beside the commands' error lines. The console logger's default wrote
/// them to standard output, among the command's own lines (the bus demo's table with <c>--quiet</c>).</summary>
internal static class CommandLoggers
{
    public static ILoggerFactory Create() => LoggerFactory.Create(b => b
        .AddSimpleConsole(o => o.SingleLine = true)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .SetMinimumLevel(LogLevel.Warning)
        // The buses report disconnects and failures themselves; the NATS client's own log lines only repeat them.
        .AddFilter("NATS", LogLevel.None));
}
