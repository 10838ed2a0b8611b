using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>One test per shipped reference trace file: every step must match (DESIGN §14).</summary>
public sealed class ReferenceTraceTests
{
    public static string FixtureFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference");

    public static TheoryData<string> TraceFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in ConformanceRunner.ExpandPaths([FixtureFolder]))
            data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(TraceFiles))]
    public async Task Trace_replays_without_mismatch(string file)
    {
        var result = await ConformanceRunner.RunFileAsync(Path.Combine(FixtureFolder, file));

        var report = string.Join(Environment.NewLine, result.Steps.Where(s => !s.Passed).Take(10)
            .SelectMany(s => s.Mismatches.Take(5).Select(m => $"step {s.Step}: {m}")));
        Assert.True(result.Ok, $"{file} ({result.Component}): {result.Failed} of {result.Steps.Count} steps failed. {result.Error}{Environment.NewLine}{report}");
    }
}
