using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Support;

/// <summary>A device whose sampling waits until released (vram 0.1 then): the handler that samples it holds its
/// subscriber, so that the events published meanwhile queue up behind it.</summary>
internal sealed class BlockingDeviceTelemetry : IDeviceTelemetrySource, IDisposable
{
    public ManualResetEventSlim Entered { get; } = new();

    public ManualResetEventSlim Release { get; } = new();

    public DeviceMemorySample Sample()
    {
        Entered.Set();
        Release.Wait(TimeSpan.FromSeconds(30));
        return new DeviceMemorySample(0, 0, 0.1, false);
    }

    public void Dispose()
    {
        Entered.Dispose();
        Release.Dispose();
    }
}
