using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// The <c>vram_high</c> flag for the scheduler (DESIGN §9) and the agent's DRG profile (§10): the payload's own
/// flag when it carries one, else the device telemetry source's, else false (§13: they read the device when the
/// processing metrics lack the figure).
/// </summary>
public static class VramHighReading
{
    /// <summary>
    /// <paramref name="payload"/>'s <c>vram_high</c> (boolean or 0/1) when present and not null; else
    /// <paramref name="source"/>'s sample when a source is given; else false. A source that throws is logged and
    /// read as false: governance goes on as it does with no source.
    /// </summary>
    /// <exception cref="InvalidInputException">The payload's vram_high is neither a boolean nor 0/1.</exception>
    public static bool From(JsonObject? payload, IDeviceTelemetrySource? source, ILogger? logger = null, string path = "processing_metrics")
    {
        if (payload?["vram_high"] is not null) return JsonRead.Bool(payload, "vram_high", false, path);
        if (source is null) return false;
        try
        {
            return source.Sample().VramHigh;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (logger is not null) LogFailed(logger, source.Device, e);
            return false;
        }
    }

    private static readonly Action<ILogger, string, Exception?> LogFailed =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(1, "DeviceTelemetryFailed"),
            "device telemetry: reading {Device} failed; vram_high read as false");
}
