using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// <see cref="DomainLearnerConfig"/> refuses an update rule outside <see cref="UpdateRule"/> naming the field, as
/// <see cref="OptimizerConfig"/> does: it passed, the learner then sent values as under <c>interpolate</c>, and the
/// agent's configuration was refused with "domain.update_rule (interpolate) and optimizer.update_rule (interpolate)
/// must be the same rule", which names two equal rules as different.
/// </summary>
public sealed class DomainUpdateRuleEnumTests
{
    [Fact]
    public void An_update_rule_outside_the_enum_is_refused_naming_the_field()
    {
        var error = Assert.Throws<InvalidInputException>(() => new DomainLearnerConfig(UpdateRule: (UpdateRule)42).Validated());
        Assert.StartsWith("domain.update_rule:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_learner_is_not_built_on_such_a_rule()
    {
        Assert.Throws<InvalidInputException>(() => new DomainMetaLearner(new DomainLearnerConfig(UpdateRule: (UpdateRule)42)));
    }

    [Fact]
    public void A_learning_configuration_with_such_a_domain_rule_names_the_field_not_a_mismatch_of_equal_rules()
    {
        var config = MetaLearningConfig.Default with { Domain = DomainLearnerConfig.Default with { UpdateRule = (UpdateRule)42 } };
        var error = Assert.Throws<InvalidInputException>(() => config.Validated());
        Assert.StartsWith("domain.update_rule: not an update rule (42)", error.Message, StringComparison.Ordinal);
    }
}
