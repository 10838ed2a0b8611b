using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// A learning configuration built in code with a section set to null is refused as any bad setting is
/// (<see cref="MetaLearningConfig.Validated"/> names the first bad field): an <see cref="InvalidInputException"/>
/// naming the section, not a NullReferenceException from the agent's constructor.
/// </summary>
public sealed class NullLearningConfigSectionTests
{
    public static TheoryData<string> Sections => ["domain", "cross", "optimizer", "scheduler", "validator", "storage"];

    private static MetaLearningConfig WithNull(string section)
    {
        var d = MetaLearningConfig.Default;
        return section switch
        {
            "domain" => d with { Domain = null! },
            "cross" => d with { Cross = null! },
            "optimizer" => d with { Optimizer = null! },
            "scheduler" => d with { Scheduler = null! },
            "validator" => d with { Validator = null! },
            _ => d with { Storage = null! },
        };
    }

    [Theory]
    [MemberData(nameof(Sections))]
    public async Task A_null_section_is_refused_naming_it(string section)
    {
        var config = WithNull(section);
        await using var bus = new EventBus();

        var validated = Assert.Throws<InvalidInputException>(() => config.Validated());
        var agent = Assert.Throws<InvalidInputException>(() => new MetaLearningAgent(bus, config));

        Assert.Equal($"{section}: missing (null)", validated.Message);
        Assert.Equal(validated.Message, agent.Message);
        await using var good = new MetaLearningAgent(bus, MetaLearningConfig.Default);
        await good.StartAsync();
    }
}
