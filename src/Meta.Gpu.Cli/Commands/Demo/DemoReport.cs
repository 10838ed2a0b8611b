using System.Globalization;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Meta.Gpu.TorchSharp.Sine;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>The demo's result as the table it prints and as demo.json (DESIGN §15).</summary>
internal static class DemoReport
{
    public static string Json(SineDemoResult result, bool governance)
    {
        var o = result.Options;
        var json = new JsonObject
        {
            ["backend"] = result.Backend,
            ["beta_final"] = WireJson.Number(result.FinalBeta),
            ["domains"] = o.Domains,
            ["elapsed_s"] = Math.Round(result.Elapsed.TotalSeconds, 3),
            ["governance"] = governance,
            ["governance_rounds"] = result.GovernanceRounds,
            ["held_out_tasks"] = o.HeldOutTasks,
            ["inner_learning_rate"] = o.InnerLearningRate,
            ["inner_steps"] = o.InnerSteps,
            ["knobs"] = new JsonObject(result.Knobs.Select(k => KeyValuePair.Create(k.Key, (JsonNode?)WireJson.Number(k.Value)))),
            ["meta_rounds"] = o.MetaRounds,
            ["mse"] = new JsonObject
            {
                ["joint"] = WireJson.Number(result.Mse.Joint),
                ["meta"] = WireJson.Number(result.Mse.Meta),
                ["random"] = WireJson.Number(result.Mse.Random),
            },
            ["rollbacks"] = result.Rollbacks,
            ["seeds"] = new JsonObject
            {
                ["held_out_tasks"] = o.Seed + 2,
                ["model_init"] = o.Seed,
                // Over a broker each (seed, domain, round) has its own stream, drawn from the base seed; seed + 1 is unused.
                ["train_tasks"] = o.TaskSeeding == SineTaskSeeding.PerDomainRound ? o.Seed : o.Seed + 1,
            },
            ["shots"] = o.Shots,
            ["task_seeding"] = o.TaskSeeding == SineTaskSeeding.PerDomainRound ? "per_domain_round" : "sequential",
        };
        return json.ToJsonString(WireJson.Indented) + Environment.NewLine;
    }

    public static IRenderable Table(SineDemoResult result)
    {
        var o = result.Options;
        var table = new Table()
            .Title(string.Create(CultureInfo.InvariantCulture, $"post-adaptation MSE on {o.HeldOutTasks} held-out tasks"))
            .AddColumn("starting point")
            .AddColumn(new TableColumn("MSE").RightAligned())
            .AddColumn(new TableColumn("x meta-learned").RightAligned());
        table.AddRow("meta-learned prior (Reptile)", Format(result.Mse.Meta), Ratio(result.Mse.Meta, result.Mse.Meta));
        table.AddRow("random init", Format(result.Mse.Random), Ratio(result.Mse.Random, result.Mse.Meta));
        table.AddRow("joint training", Format(result.Mse.Joint), Ratio(result.Mse.Joint, result.Mse.Meta));
        return table;
    }

    /// <summary>The settings behind the table, on one line.</summary>
    public static string Summary(SineDemoResult result)
    {
        var o = result.Options;
        return string.Create(CultureInfo.InvariantCulture,
            $"K={o.Shots} shots, {o.InnerSteps} SGD steps (lr {o.InnerLearningRate}); seed {o.Seed}; {o.Domains} domains x {o.MetaRounds} meta-rounds; backend {result.Backend}; final beta {result.FinalBeta:F3}; {result.Elapsed.TotalSeconds:F1} s");
    }

    private static string Format(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>value / meta, or "-" when there is no such number: an MSE that diverged printed "NaNx", "Infinityx",
    /// or "0.0x" over an infinite meta-learned MSE.</summary>
    private static string Ratio(double value, double meta) =>
        meta > 0 && double.IsFinite(meta) && double.IsFinite(value / meta) ? (value / meta).ToString("F1", CultureInfo.InvariantCulture) + "x" : "-";
}
