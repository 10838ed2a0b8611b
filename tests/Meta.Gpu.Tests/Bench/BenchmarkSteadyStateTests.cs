using System.Reflection;
using Meta.Gpu.Benchmarks;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Bench;

/// <summary>The BenchmarkDotNet suites measure, after their setup, the steady state their names and comments
/// describe.</summary>
public sealed class BenchmarkSteadyStateTests
{
    private static T Field<T>(object o, string name) =>
        (T)o.GetType().GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(o)!;

    private static MetaHistoryEntry[] MeasuredCycle(GovernanceUpdate bench, MetaIntegrativeLayer layer)
    {
        var entries = new MetaHistoryEntry[GovernanceUpdate.CycleLength];
        for (var i = 0; i < entries.Length; i++)
        {
            bench.Update();
            layer.State.History.TryGetNewest(out entries[i]);
        }
        return entries;
    }

    [Fact]
    public void Governance_update_fires_every_rule_it_names_in_the_measured_calls()
    {
        var bench = new GovernanceUpdate();
        bench.Setup();
        var layer = Field<MetaIntegrativeLayer>(bench, "layer");
        var entries = MeasuredCycle(bench, layer);
        bench.Cleanup();

        // Writes that stand (calls without a rollback), so a rule that wrote is seen whatever a rollback did after it.
        var kept = entries.Where(e => !e.Rollback).ToArray();
        bool Wrote(MetaHistoryEntry e, Knob knob) => e.PolicyUpdate.Announces(knob);
        // Exploration steps gamma_diversity up (nothing else does); exploitation steps tau down, after exploration's
        // step up in the same call when both fire.
        Assert.Contains(kept, e => Wrote(e, Knob.GammaDiversity) && e.KnobsAfter.GammaDiversity > e.KnobsBefore.GammaDiversity);
        Assert.Contains(kept, e => Wrote(e, Knob.Tau) && e.KnobsAfter.Tau <= e.KnobsBefore.Tau);
        Assert.Contains(kept, e => Wrote(e, Knob.GMin) && e.KnobsAfter.GMin < e.KnobsBefore.GMin);
        Assert.Contains(kept, e => Wrote(e, Knob.LambdaCi) && e.KnobsAfter.LambdaCi < e.KnobsBefore.LambdaCi);
        Assert.Contains(kept, e => e.KnobsBefore.Tier3TopK > 0 && e.KnobsAfter.Tier3TopK == 0);
        Assert.Contains(kept, e => e.KnobsBefore.Tier3TopK == 0 && e.KnobsAfter.Tier3TopK > 0);
        Assert.Contains(entries, e => e.Rollback);
        Assert.Contains(entries, e => e.ResourceHint.Kind == ResourceHintKind.Grow);
        Assert.Contains(entries, e => e.ResourceHint.Kind == ResourceHintKind.Shrink);
    }

    [Fact]
    public void Governance_update_measures_the_same_cycle_again_and_again()
    {
        var bench = new GovernanceUpdate();
        bench.Setup();
        var layer = Field<MetaIntegrativeLayer>(bench, "layer");
        var first = MeasuredCycle(bench, layer);
        var later = MeasuredCycle(bench, layer);
        bench.Cleanup();
        for (var i = 0; i < first.Length; i++)
        {
            Assert.Equal(first[i].KnobsBefore, later[i].KnobsBefore);
            Assert.Equal(first[i].KnobsAfter, later[i].KnobsAfter);
            Assert.Equal(first[i].Rollback, later[i].Rollback);
            Assert.Equal(first[i].PolicyUpdate.ChangedMask, later[i].PolicyUpdate.ChangedMask);
        }
    }
}

/// <summary>The matrix's stepped workloads keep the prior on the device from round to round, as the dense lane and
/// <c>meta-gpu bench</c> do (a <see cref="Meta.Gpu.Compute.ResidentPrior"/>): each measured round uploads it no
/// more.</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class AggregationMatrixPriorTests
{
    [Theory]
    [InlineData(nameof(AggregationMatrix.ReptileStep))]
    [InlineData(nameof(AggregationMatrix.FusedTrimmedMeanReptile))]
    public void A_device_round_of_the_matrix_does_not_upload_the_prior_again(string workload)
    {
        var bench = new AggregationMatrix { Case = new MatrixCase("ilgpu-cpu", 16, 1 << 10) };
        bench.Setup();
        try
        {
            var backend = (Meta.Gpu.Compute.IlgpuBackend)typeof(AggregationMatrix)
                .GetField("backend", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(bench)!;
            var round = typeof(AggregationMatrix).GetMethod(workload)!;
            round.Invoke(bench, null); // the first round puts the prior on the device
            var before = backend.PriorUploads;
            for (var i = 0; i < 3; i++) round.Invoke(bench, null);
            Assert.Equal(before, backend.PriorUploads);
        }
        finally
        {
            bench.Cleanup();
        }
    }
}
