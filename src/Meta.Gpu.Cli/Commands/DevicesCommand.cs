using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu devices [--json]`: every accelerator on this machine (DESIGN §13, §15) with kind, name, memory used
/// and total, compute capability where known, and which one <c>auto</c> picks and why. The <c>cpu</c> backend is
/// always listed, so a machine without a GPU exits 0 with it alone (and ILGPU's CPU accelerator, never picked).
/// </summary>
internal static class DevicesCommand
{
    public static Command Create(CliConsole console)
    {
        var json = new Option<bool>("--json")
        {
            Description = "Print [{kind, name, memory_used_bytes, memory_total_bytes, compute_capability, chosen_by_auto, note}] (DESIGN §15).",
        };
        var command = new Command("devices", "List the accelerators (kind, name, memory, compute capability) and which one 'auto' picks.") { json };
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () => RunAsync(console, result.GetValue(json), token)));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, bool json, CancellationToken token)
    {
        var survey = DeviceSurvey.Take();
        if (json)
            await console.Out.WriteLineAsync(ToJson(survey).ToJsonString(WireJson.Options)).ConfigureAwait(false);
        else
            await WriteTableAsync(console.Out, survey).ConfigureAwait(false);
        await console.Out.FlushAsync(token).ConfigureAwait(false);
        return MetaGpuApp.ExitOk;
    }

    /// <summary>The §15 array; keys in ordinal order.</summary>
    internal static JsonArray ToJson(DeviceSurvey survey)
    {
        var array = new JsonArray();
        foreach (var d in survey.Devices)
            array.Add(new JsonObject
            {
                ["chosen_by_auto"] = d.ChosenByAuto,
                ["compute_capability"] = d.ComputeCapability,
                ["kind"] = d.Kind,
                ["memory_total_bytes"] = d.MemoryTotalBytes,
                ["memory_used_bytes"] = d.MemoryUsedBytes,
                ["name"] = d.Name,
                ["note"] = d.Note,
            });
        return array;
    }

    private static async Task WriteTableAsync(TextWriter output, DeviceSurvey survey)
    {
        string[] header = ["kind", "name", "memory used / total", "compute capability", "auto"];
        var rows = survey.Devices.Select(d => new[]
        {
            d.Kind,
            d.Name,
            $"{Gib(d.MemoryUsedBytes)} / {Gib(d.MemoryTotalBytes)} GiB",
            d.ComputeCapability ?? "-",
            d.ChosenByAuto ? "picked" : "",
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        await output.WriteLineAsync(Line(header, widths)).ConfigureAwait(false);
        foreach (var row in rows) await output.WriteLineAsync(Line(row, widths)).ConfigureAwait(false);
        foreach (var d in survey.Devices.Where(d => d.Note is not null))
            await output.WriteLineAsync($"  {d.Kind} {d.Name}: {d.Note}").ConfigureAwait(false);
        await output.WriteLineAsync(survey.Auto.Reason).ConfigureAwait(false);
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i]))).TrimEnd();

    private static string Gib(long? bytes) =>
        bytes is long b ? (b / (1024.0 * 1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) : "?";
}
