using System.Text.Json.Nodes;
using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// demo.json's <c>seeds</c> name the seeds the run drew from (README: "these three are printed and written to
/// demo.json's seeds"). A run over a broker draws each training task from (seed, domain, round)
/// (<see cref="SineTaskSeeding.PerDomainRound"/>, its banner says so), yet its demo.json said
/// <c>train_tasks: seed + 1</c>, a stream nothing in that run used.
/// </summary>
public sealed class DemoJsonSeedsTests
{
    [Fact]
    public void A_per_domain_round_run_names_the_seed_its_training_tasks_were_drawn_from()
    {
        var json = Json(new SineDemoOptions { Seed = 42, TaskSeeding = SineTaskSeeding.PerDomainRound });

        // SineRoundTasks.Sample(42, domain, round, shots): the base seed, mixed with the domain and the round.
        Assert.Equal(42, (int)json["seeds"]!["train_tasks"]!);
        Assert.Equal("per_domain_round", (string?)json["task_seeding"]);
        Assert.Equal(44, (int)json["seeds"]!["held_out_tasks"]!);
    }

    [Fact]
    public void An_in_process_run_names_seed_plus_one_for_its_training_tasks()
    {
        var json = Json(new SineDemoOptions { Seed = 42 });

        Assert.Equal(43, (int)json["seeds"]!["train_tasks"]!);
        Assert.Equal("sequential", (string?)json["task_seeding"]);
    }

    private static JsonObject Json(SineDemoOptions options)
    {
        var example = new SineExample(new SineTask(1, 0), [], [], [], [], [], [], []);
        var result = new SineDemoResult(options, "cpu", new StartingPointMse(1, 2, 3), example, 0, 0.1,
            new Dictionary<string, double>(), TimeSpan.FromSeconds(1));
        return JsonNode.Parse(DemoReport.Json(result, governance: false))!.AsObject();
    }
}
