using Meta.Gpu.Compute;
using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The sine demo refuses, before it makes anything, more domains than a round's batch holds (every domain's
/// parameters in one array): past it the first round died on DomainBatch's ArgumentOutOfRangeException naming "rows".
/// </summary>
public sealed class SineDemoDomainCountTests
{
    [Fact]
    public void The_parameter_count_is_the_networks()
    {
        using var model = new SineRegressor(1, 0.01);
        using var parameters = new ParameterVector(model.Module);

        Assert.Equal(SineRegressor.ParameterCount, parameters.Length);
        Assert.Equal(DomainBatch.MaxRows(parameters.Length), SineDemoOptions.MaxDomains);
    }

    [Fact]
    public async Task More_domains_than_a_rounds_batch_holds_are_refused_by_name_before_anything_runs()
    {
        var options = new SineDemoOptions { Domains = SineDemoOptions.MaxDomains + 1, Shots = 1 };

        var e = await Assert.ThrowsAsync<InvalidInputException>(() => SineDemo.RunAsync(options, new WeightedMeanReptileStep()));

        Assert.StartsWith($"domains: must be <= {SineDemoOptions.MaxDomains} ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_most_domains_a_rounds_batch_holds_are_taken() =>
        new SineDemoOptions { Domains = SineDemoOptions.MaxDomains, Shots = 1 }.Validate();
}
