using System.Runtime.InteropServices;

namespace Meta.Gpu.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a cancellation of the running command: the first one cancels <see cref="Token"/>
/// and keeps the process alive, so that a command drains (serve, domain) or cleans up (the bus demo ends its worker
/// processes) before it exits; a second one ends the process at once, as the signal normally does.
/// </summary>
/// <remarks>System.CommandLine 2.0.0 as invoked here installed no handler: every signal killed the process on the
/// spot, and the bus demo's worker processes, started by it, ran on for good.</remarks>
internal sealed class TerminationSignals : IDisposable
{
    /// <summary>The shell's exit codes of a process ended by SIGINT and SIGTERM (128 + the signal).</summary>
    public const int InterruptedExitCode = 130;

    public const int TerminatedExitCode = 143;

    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private int _received;

    public TerminationSignals()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The signal that cancelled <see cref="Token"/>, if any.</summary>
    public PosixSignal? Received { get; private set; }

    /// <summary>The exit code of a command the signal stopped: 130 for SIGINT, 143 for SIGTERM.</summary>
    public int ExitCode => Received == PosixSignal.SIGTERM ? TerminatedExitCode : InterruptedExitCode;

    private void OnSignal(PosixSignalContext context)
    {
        // A second signal takes the default action: a command stuck in its clean-up can still be ended.
        if (Interlocked.Increment(ref _received) > 1) return;
        context.Cancel = true;
        Received = context.Signal;
        _stop.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }
}
