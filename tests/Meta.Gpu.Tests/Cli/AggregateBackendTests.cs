using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>`meta-gpu aggregate --backend NAME` against the aggregator reference traces (DESIGN §4, §13 tolerance).</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class AggregateBackendTests
{
    private const double Tolerance = 1e-4;

    private static string FixtureFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference");

    private static Task<(int Code, string Out, string Error)> Run(string stdin, params string[] args) => CliRun.RunAsync(stdin, args);

    private static double Number(JsonNode? node) =>
        node!.GetValueKind() == JsonValueKind.String
            ? node.GetValue<string>() switch
            {
                "nan" => double.NaN,
                "inf" => double.PositiveInfinity,
                "-inf" => double.NegativeInfinity,
                var s => double.Parse(s, CultureInfo.InvariantCulture),
            }
            : node.GetValue<double>();

    private static void AssertClose(double expected, double actual, string what)
    {
        if (double.IsNaN(expected)) { Assert.True(double.IsNaN(actual), $"{what}: expected NaN, got {actual}"); return; }
        Assert.True(Math.Abs(expected - actual) <= Tolerance + Tolerance * Math.Abs(expected), $"{what}: expected {expected}, got {actual}");
    }

    public static TheoryData<string, string, int> Samples()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var trace in new[] { "aggregator_default", "aggregator_compat" })
        {
            var steps = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureFolder, trace + ".json")))!["steps"]!.AsArray().Count;
            // cpu: every step; ilgpu-cpu (a slower emulated device, started per command): a spread of steps.
            for (var i = 0; i < steps; i++) data.Add(trace, "cpu", i);
            for (var i = 0; i < steps; i += 16) data.Add(trace, "ilgpu-cpu", i);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task A_backend_agrees_with_the_reference_trace(string trace, string backend, int step)
    {
        var entry = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureFolder, trace + ".json")))!["steps"]![step]!;
        var expected = entry["expected"]!.AsObject();

        var (code, output, error) = await Run(entry["input"]!.ToJsonString(), "aggregate", "--backend", backend);

        Assert.True(code == 0, error);
        var actual = JsonNode.Parse(output)!.AsObject();
        // The compat traces expect a subset of the fields (the reference implementation's); each expected one must be there.
        Assert.All(expected, p => Assert.True(actual.ContainsKey(p.Key), $"missing {p.Key}"));
        Assert.Equal(expected["keys"]!.AsArray().Select(k => k!.GetValue<string>()), actual["keys"]!.AsArray().Select(k => k!.GetValue<string>()));
        if (expected["outliers"] is JsonArray outliers)
            Assert.Equal(outliers.Select(k => k!.GetValue<string>()), actual["outliers"]!.AsArray().Select(k => k!.GetValue<string>()));
        foreach (var field in new[] { "participants", "rejected_low_confidence", "rejected_nonfinite", "rejected_empty" })
        {
            if (expected[field] is { } count) Assert.Equal(count.GetValue<int>(), actual[field]!.GetValue<int>());
        }
        if (expected["method"] is { } method) Assert.Equal(method.GetValue<string>(), actual["method"]!.GetValue<string>());
        var want = expected["vector"]!.AsArray();
        var got = actual["vector"]!.AsArray();
        Assert.Equal(want.Count, got.Count);
        for (var i = 0; i < want.Count; i++) AssertClose(Number(want[i]), Number(got[i]), $"vector[{i}]");
        foreach (var field in new[] { "trim_alpha", "confidence_mean", "weight_entropy", "diversity_temperature", "effective_domains" })
        {
            if (expected[field] is { } value) AssertClose(Number(value), Number(actual[field]), field);
        }
    }

    [Fact]
    public async Task Without_backend_the_output_is_the_float64_reference_unchanged()
    {
        var entry = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureFolder, "aggregator_default.json")))!["steps"]![0]!;
        var (code, output, _) = await Run(entry["input"]!.ToJsonString(), "aggregate");
        var (codeCpu, outputCpu, _) = await Run(entry["input"]!.ToJsonString(), "aggregate", "--backend", "cpu");

        Assert.Equal(0, code);
        Assert.Equal(0, codeCpu);
        var reference = JsonNode.Parse(output)!;
        Assert.Equal(entry["expected"]!["keys"]!.ToJsonString(), reference["keys"]!.ToJsonString());
        Assert.Equal(entry["expected"]!["outliers"]!.ToJsonString(), reference["outliers"]!.ToJsonString());
        Assert.Equal(JsonNode.Parse(outputCpu)!["keys"]!.ToJsonString(), reference["keys"]!.ToJsonString());
    }

    [Fact]
    public async Task An_unknown_backend_exits_2_listing_the_valid_names()
    {
        var (code, output, error) = await Run("{\"updates\": []}", "aggregate", "--backend", "tpu");

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("tpu", error, StringComparison.Ordinal);
        foreach (var name in new[] { "auto", "cpu", "cuda", "ilgpu-cpu", "opencl" }) Assert.Contains(name, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_backend_is_refused_before_the_input_is_read()
    {
        // The input is missing and standard input malformed: the backend's name is the error all the same.
        var missing = Path.Combine(Path.GetTempPath(), $"meta-gpu-no-such-{Guid.NewGuid():N}.json");
        foreach (var input in new[] { missing, "-" })
        {
            var (code, output, error) = await Run("not json", "aggregate", "--backend", "tpu", input);

            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.StartsWith("meta-gpu: --backend: unknown name \"tpu\"", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_device_backend_without_its_device_exits_2_saying_why()
    {
        // On a machine with a CUDA device the backend starts; the test is about the machine without one.
        if (Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") is not null || File.Exists("/dev/nvidia0")) return;

        var (code, output, error) = await Run("{\"updates\": []}", "aggregate", "--backend", "cuda");

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("cuda", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Updates_without_any_key_give_the_empty_result_on_a_backend()
    {
        var input = "{\"updates\": [{\"domain_id\": \"a\", \"keys\": [], \"vector\": [], \"confidence\": 0.9}]}";
        var (code, output, error) = await Run(input, "aggregate", "--backend", "cpu");

        Assert.True(code == 0, error);
        var actual = JsonNode.Parse(output)!;
        Assert.Empty(actual["keys"]!.AsArray());
        Assert.Equal(0, actual["participants"]!.GetValue<int>());
        Assert.Equal(1, actual["rejected_empty"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("cpu")]
    public async Task Confidences_near_the_largest_double_weigh_as_their_ratios_say(string? backend)
    {
        // 1e308 + 1e308 overflowed the weight sum: every p read 0, balancing flattened the already even weights
        // (t 0.9995, the mean 2.000129 for 2) and confidence_mean came out "inf".
        const string input = """
            {"updates": [
              {"domain_id": "a", "keys": ["x"], "vector": [1], "confidence": 1e308},
              {"domain_id": "b", "keys": ["x"], "vector": [2], "confidence": 1e308},
              {"domain_id": "c", "keys": ["x"], "vector": [4], "confidence": 5e307}],
             "config": {"method": "mean"}}
            """;
        var (code, output, error) = backend is null ? await Run(input, "aggregate") : await Run(input, "aggregate", "--backend", backend);

        Assert.True(code == 0, error);
        var actual = JsonNode.Parse(output)!;
        // p = (0.4, 0.4, 0.2): entropy 0.96 is above the 0.9 target, so the weights stay as the confidences say.
        AssertClose(0.4 * 1 + 0.4 * 2 + 0.2 * 4, Number(actual["vector"]![0]), "vector[0]");
        Assert.Equal(1.0, Number(actual["diversity_temperature"]));
        AssertClose(2.5e307 / 3 * 10, Number(actual["confidence_mean"]), "confidence_mean");
        AssertClose(1 / (0.16 + 0.16 + 0.04), Number(actual["effective_domains"]), "effective_domains");
    }
}
