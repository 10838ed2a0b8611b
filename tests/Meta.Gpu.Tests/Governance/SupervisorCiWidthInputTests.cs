using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §6: "ci_width = its ci_width, else ci_width_avg, else 0". The supervisor traces only send ci_width_avg;
/// these check the precedence through the evaluator rule "ci_width > ci_width_target -> lambda_ci -= lambda_ci_step".
/// </summary>
public sealed class SupervisorCiWidthInputTests
{
    private static async Task<double> LambdaCiAfter(string processing)
    {
        var bus = new SequentialTestBus();
        await using var supervisor = new MetaSupervisor(bus);
        supervisor.Start();
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, JsonNode.Parse(processing));
        return supervisor.Layer.State.Knobs.LambdaCi;
    }

    [Theory]
    [InlineData("""{"accept_rate": 0.3, "ci_width": 0.05, "ci_width_avg": 0.5}""", 0.5)] // its own ci_width wins
    [InlineData("""{"accept_rate": 0.3, "ci_width": 0.5, "ci_width_avg": 0.05}""", 0.45)]
    [InlineData("""{"accept_rate": 0.3, "ci_width_avg": 0.5}""", 0.45)]
    [InlineData("""{"accept_rate": 0.3, "ci_width": null, "ci_width_avg": 0.5}""", 0.45)]
    [InlineData("""{"accept_rate": 0.3}""", 0.5)] // neither: 0
    public async Task Ci_width_is_the_payloads_own_else_its_average_else_zero(string processing, double lambdaCi) =>
        Assert.Equal(lambdaCi, await LambdaCiAfter(processing));
}
