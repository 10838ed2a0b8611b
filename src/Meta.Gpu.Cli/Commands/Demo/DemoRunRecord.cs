using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>
/// The settings that decide a bus demo run's numbers, kept beside its saved prior (<see cref="FileName"/>) so that a
/// rerun on the same <c>--storage</c> resumes only the run it continues: resumed with another seed or step size, the
/// saved rounds and the new ones were silently two runs' mixture, and the final table neither run's.
/// </summary>
/// <remarks>Not recorded: the meta-round count (a complete run may be extended), the held-out count (it only sizes the
/// final comparison) and the backend (backends agree within DESIGN §13's tolerance).</remarks>
internal sealed record DemoRunRecord(int Seed, int Shots, int InnerSteps, double InnerLearningRate, double Beta)
{
    public const string FileName = "demo_run.json";

    /// <summary>Writes the record into <paramref name="root"/> (replacing one of an earlier run that saved no prior),
    /// whole or not at all.</summary>
    public void Save(string root)
    {
        var json = new JsonObject
        {
            ["seed"] = Seed,
            ["shots"] = Shots,
            ["inner_steps"] = InnerSteps,
            ["inner_lr"] = InnerLearningRate,
            ["beta"] = Beta,
        };
        // As the prior beside it is written: a crash leaves the old record or the new one, whole.
        AtomicFile.WriteAllBytes(Path.Combine(root, FileName), Encoding.UTF8.GetBytes(json.ToJsonString()));
    }

    /// <summary>Throws naming the first option whose value differs from the record saved in <paramref name="root"/>;
    /// a folder without a record (saved before there were records) is resumed as before.</summary>
    public void CheckResumes(string root)
    {
        var path = Path.Combine(root, FileName);
        if (!File.Exists(path)) return;
        JsonObject saved;
        try
        {
            saved = JsonInput.Parse(File.ReadAllBytes(path)) as JsonObject
                ?? throw new InvalidInputException($"--storage {root}: {FileName} is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"--storage {root}: {FileName} is not valid JSON ({e.Message})");
        }
        var recorded = new DemoRunRecord(
            JsonRead.Int(saved, "seed", Seed, FileName),
            JsonRead.Int(saved, "shots", Shots, FileName),
            JsonRead.Int(saved, "inner_steps", InnerSteps, FileName),
            JsonRead.Double(saved, "inner_lr", InnerLearningRate, FileName),
            JsonRead.Double(saved, "beta", Beta, FileName));
        if (recorded.Seed != Seed) throw Differs(root, "--seed", recorded.Seed, Seed);
        if (recorded.Shots != Shots) throw Differs(root, "shots (K)", recorded.Shots, Shots);
        if (recorded.InnerSteps != InnerSteps) throw Differs(root, "--inner-steps", recorded.InnerSteps, InnerSteps);
        if (recorded.InnerLearningRate != InnerLearningRate) throw Differs(root, "--inner-lr", recorded.InnerLearningRate, InnerLearningRate);
        if (recorded.Beta != Beta) throw Differs(root, "--beta", recorded.Beta, Beta);
    }

    private static InvalidInputException Differs<T>(string root, string option, T saved, T given) where T : IFormattable =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"{option} {given.ToString(null, CultureInfo.InvariantCulture)}: the run saved in --storage {root} uses {saved.ToString(null, CultureInfo.InvariantCulture)}; give the same to resume it, or use another folder"));
}
