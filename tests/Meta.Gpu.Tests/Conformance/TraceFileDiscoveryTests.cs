using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>
/// Which files a folder of reference traces stands for (`meta-gpu conformance DIR`): its own *.json files, in ordinal
/// order of their paths (the order the directory happens to list them in varies between file systems), not the
/// files of its subfolders nor files of other kinds beside them.
/// </summary>
public sealed class TraceFileDiscoveryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trace-discovery-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_folder_stands_for_its_own_json_files_in_ordinal_order()
    {
        string[] traces = ["supervisor_1.json", "agent_0.json", "Zeta.json", "optimizer_10.json", "optimizer_2.json", "domain_0.json",
            "integrative_3.json", "aggregator_default.json", "scheduler_0.json", "b.json", "a.json", "aggregator_compat.json"];
        foreach (var name in traces) File.WriteAllText(Path.Combine(_dir, name), "{}");
        File.WriteAllText(Path.Combine(_dir, "README.md"), "");
        File.WriteAllText(Path.Combine(_dir, "agent_0.json.bak"), "{}");
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "old")).FullName;
        File.WriteAllText(Path.Combine(sub, "agent_9.json"), "{}");

        var found = ConformanceRunner.ExpandPaths([_dir]);

        Assert.Equal(traces.Order(StringComparer.Ordinal).Select(name => Path.Combine(_dir, name)), found);
    }

    [Fact]
    public void A_path_that_is_neither_a_file_nor_a_folder_is_refused_naming_it()
    {
        var missing = Path.Combine(_dir, "no-such-trace.json");

        var e = Assert.Throws<InvalidInputException>(() => ConformanceRunner.ExpandPaths([missing]));

        Assert.Equal($"{missing}: no such file or folder", e.Message);
    }
}
