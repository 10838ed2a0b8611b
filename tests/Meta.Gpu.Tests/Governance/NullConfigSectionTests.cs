using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// A governance configuration built in code with a section set to null is refused as any other bad setting is
/// (<see cref="IntegrativeMetaConfig.Validate()"/>: "a configuration built in code is checked as strictly as one read
/// from JSON"): an <see cref="InvalidInputException"/> naming the section, not a NullReferenceException from the
/// layer's constructor.
/// </summary>
public sealed class NullConfigSectionTests
{
    public static TheoryData<string> Sections =>
        ["meta_score", "meta_score.weights", "meta_score.penalties", "controller_policy", "evaluator_policy", "drg_policy", "safety"];

    private static IntegrativeMetaConfig WithNull(string section)
    {
        var d = IntegrativeMetaConfig.Default;
        return section switch
        {
            "meta_score" => d with { MetaScore = null! },
            "meta_score.weights" => d with { MetaScore = d.MetaScore with { Weights = null! } },
            "meta_score.penalties" => d with { MetaScore = d.MetaScore with { Penalties = null! } },
            "controller_policy" => d with { ControllerPolicy = null! },
            "evaluator_policy" => d with { EvaluatorPolicy = null! },
            "drg_policy" => d with { DrgPolicy = null! },
            _ => d with { Safety = null! },
        };
    }

    [Theory]
    [MemberData(nameof(Sections))]
    public void A_null_section_is_refused_naming_it(string section)
    {
        var config = WithNull(section);

        var validate = Assert.Throws<InvalidInputException>(config.Validate);
        var layer = Assert.Throws<InvalidInputException>(() => new MetaIntegrativeLayer(config));

        Assert.Equal($"{section}: missing (null)", validate.Message);
        Assert.Equal(validate.Message, layer.Message);
        // The defaults still make a working layer.
        using var good = new MetaIntegrativeLayer(IntegrativeMetaConfig.Default);
        Assert.Equal(1, good.Update(TelemetrySnapshot.Default).DecisionCount);
    }
}
