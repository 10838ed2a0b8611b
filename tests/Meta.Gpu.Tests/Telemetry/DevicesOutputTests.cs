using System.Globalization;
using System.Text.Json.Nodes;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// `meta-gpu devices`'s two outputs: the --json rows carry exactly the fields README and DESIGN §15 name
/// ({kind, name, memory_used_bytes, memory_total_bytes, compute_capability, chosen_by_auto, note}), keys in ordinal
/// order as every other JSON the tool writes; the table gives memory in GiB (2^30 bytes) with one decimal and marks
/// the device auto picks.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DevicesOutputTests
{
    [Fact]
    public async Task Every_json_row_has_exactly_the_documented_keys_in_ordinal_order()
    {
        var (code, output, _) = await CliRun.RunAsync("", "devices", "--json");

        Assert.Equal(0, code);
        var rows = JsonNode.Parse(output)!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, row => Assert.Equal(
            ["chosen_by_auto", "compute_capability", "kind", "memory_total_bytes", "memory_used_bytes", "name", "note"],
            row.Select(p => p.Key).ToArray()));
    }

    [Fact]
    public async Task The_table_gives_total_memory_in_gib_with_one_decimal_and_marks_only_the_pick()
    {
        var json = await CliRun.RunAsync("", "devices", "--json");
        var table = await CliRun.RunAsync("", "devices");

        Assert.Equal(0, json.Code);
        Assert.Equal(0, table.Code);
        var rows = JsonNode.Parse(json.Out)!.AsArray().Select(r => r!.AsObject()).ToList();
        // The table's rows follow the header in the survey's order, one per device.
        var lines = table.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).Skip(1).Take(rows.Count).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.StartsWith(rows[i]["kind"]!.GetValue<string>() + " ", lines[i], StringComparison.Ordinal);
            var gib = rows[i]["memory_total_bytes"] is { } total
                ? (total.GetValue<long>() / (1024.0 * 1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture)
                : "?";
            Assert.Contains($" / {gib} GiB", lines[i], StringComparison.Ordinal);
            Assert.Equal(rows[i]["chosen_by_auto"]!.GetValue<bool>(), lines[i].EndsWith("  picked", StringComparison.Ordinal));
        }
    }
}
