using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The dense lane's refusal reason (the log entry's <c>Reason</c>) shows a non-finite score as the invariant culture
/// writes it, whatever the culture of the application that embeds the library: it said "non-finite score −∞" under
/// de-DE or sv-SE and "non-finite score -Infinity" elsewhere, so one search over the logs of several hosts missed some.
/// </summary>
public sealed class DenseLaneRefusalCultureTests
{
    [Fact]
    public void A_non_finite_score_is_logged_invariantly()
    {
        var logger = new RecordingLogger();
        using var lane = new DenseLearningLane(MetaLearningConfig.Default, new CpuBackend(), true, null, new MetaPacketValidator(), logger);

        ForeignCulture.Under(() => lane.Accept(new DenseUpdate("a", 1, 0.8, new DomainMetrics(MetaScore: double.NegativeInfinity), [1f, 2f])));

        Assert.Contains(logger.Entries, e => e.Message == "dense update of domain a refused: non-finite score -Infinity");
    }
}
