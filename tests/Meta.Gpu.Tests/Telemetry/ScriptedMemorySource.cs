using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>A device whose memory use the test sets: <see cref="Util"/> of an 80 GiB device.</summary>
internal sealed class ScriptedMemorySource(double util = 0.0) : IDeviceTelemetrySource
{
    public const long TotalBytes = 80L << 30;

    private double _util = util;

    public double Util
    {
        get => Volatile.Read(ref _util);
        set => Volatile.Write(ref _util, value);
    }

    /// <summary>When set, the next reads throw it.</summary>
    public Exception? Failure { get; set; }

    public int Reads;

    public string Device => "scripted";

    public DeviceMemorySample Sample()
    {
        Interlocked.Increment(ref Reads);
        if (Failure is not null) throw Failure;
        return DeviceMemorySample.FromBytes((long)(Util * TotalBytes), TotalBytes);
    }
}
