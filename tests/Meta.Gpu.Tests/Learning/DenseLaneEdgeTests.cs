using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Tests.Learning;

/// <summary>The dense lane (DESIGN §10) on its own: reports it must refuse before observing (a non-finite score, an
/// id no save can hold), a failed save the next round must retry even when nothing is pending, a sender's array,
/// and the bound of one round's batch.</summary>
public sealed class DenseLaneEdgeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dense-edges-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
    };

    private static DenseLearningLane Lane(MetaStorageManager? storage = null) =>
        new(Config, new CpuBackend(), true, storage, new MetaPacketValidator(Config.Validator), NullLogger.Instance);

    private static float[] Vector(int d, float x) => Enumerable.Range(0, d).Select(i => x + 0.01f * i).ToArray();

    private static LearningRoundInput Round(double reward) => new(reward, DrgProfile.None, 50, new SchedulerTelemetry());

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_score_is_refused_without_becoming_the_last_score(double score)
    {
        // It became the domain's last score, so the next, valid update's score_delta was NaN and it was refused too.
        using var lane = Lane();
        Assert.False(lane.Accept(new DenseUpdate("a", 1, 0.8, new DomainMetrics(MetaScore: score), Vector(4, 1))));
        Assert.True(lane.Accept(new DenseUpdate("a", 2, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
    }

    [Fact]
    public void A_wire_dense_update_with_a_non_finite_score_is_refused_at_the_edge_naming_it()
    {
        var payload = JsonNode.Parse("""{"domain_id": "a", "sequence": 1, "confidence": 0.8, "metrics": {"meta_score": "nan"}, "vector": [1, 2]}""");
        var error = Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(payload, DenseLearningLane.UpdateTopic));
        Assert.Contains("metrics.meta_score", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prior_whose_save_failed_is_saved_by_the_next_round_even_with_nothing_pending()
    {
        // The round returned before saving when nothing was pending: the stepped prior, its applied sequences and
        // the acknowledgements held for them waited for the next update to arrive.
        var storage = new MetaStorageManager(new StorageConfig(_dir));
        using var lane = Lane(storage);
        Directory.CreateDirectory(storage.DensePriorPath); // a folder where the file goes: the save fails
        Assert.True(lane.Accept(new DenseUpdate("a", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(8, 1))));
        Assert.NotNull(lane.RunRound(Round(0.5)));
        Assert.Null(storage.LoadDensePrior());
        Directory.Delete(storage.DensePriorPath);

        Assert.Null(lane.RunRound(Round(0.5)));
        var saved = storage.LoadDensePrior()!;
        Assert.Equal(lane.Optimizer!.Prior, saved.Values);
        Assert.Equal(1, saved.LastSequences["a"]);
    }

    [Fact]
    public void A_sender_writing_its_array_after_the_update_was_accepted_changes_nothing_the_round_applies()
    {
        // The lane kept the sender's array: a value written after the check reached the prior, and a NaN dropped
        // the update at the round (rejected_nonfinite) with its sequence marked applied.
        using var lane = Lane();
        var vector = Vector(4, 1);
        var sent = vector.ToArray();
        Assert.True(lane.Accept(new DenseUpdate("a", 1, 0.8, new DomainMetrics(MetaScore: 0.5), vector)));
        vector[0] = float.NaN;
        vector[1] = 1000f;

        var result = lane.RunRound(Round(0.5));
        Assert.NotNull(result);
        Assert.Equal(1, result["participants"]!.GetValue<int>());
        Assert.Equal(sent, lane.Optimizer!.Prior); // a fresh prior adopts the aggregate: the update as sent
    }

    [Fact]
    public void An_update_past_what_one_round_batch_holds_is_refused_and_the_round_runs_on_the_others()
    {
        // 64 domains of 40M values were each accepted, then every round threw an OverflowException building the
        // batch before it consumed anything: the lane never stepped again. The real bound (DomainBatch.MaxRows, one
        // array of cells) needs gigabytes of updates; the lane's check is tested at a bound of two rows.
        using var lane = Lane();
        lane.MaxRoundRows = _ => 2;
        Assert.True(lane.Accept(new DenseUpdate("a", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
        Assert.True(lane.Accept(new DenseUpdate("b", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
        Assert.False(lane.Accept(new DenseUpdate("c", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
        Assert.True(lane.Accept(new DenseUpdate("a", 2, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 2)))); // replaces a's: no new row
        Assert.Equal(["a", "b"], lane.PendingDomains);
        Assert.Equal(2, lane.RunRound(Round(0.5))!["participants"]!.GetValue<int>());
        Assert.Empty(lane.PendingDomains);
    }

    [Fact]
    public void A_dense_update_record_with_an_empty_domain_id_does_not_stop_the_lane_for_good()
    {
        // In process the record itself is a payload (DenseUpdate.FromPayload returns it unchecked). "" was accepted,
        // its sequence became applied, and every later save (DensePriorFile refuses an empty id) threw: no round ever
        // completed again.
        using var lane = Lane();
        Assert.False(lane.Accept(new DenseUpdate("", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
        try { lane.RunRound(Round(0.5)); } catch (InvalidInputException) { /* the bad round itself may fail */ }

        Assert.True(lane.Accept(new DenseUpdate("a", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
        var payload = lane.RunRound(Round(0.5));
        Assert.NotNull(payload);
    }

    [Fact]
    public void Dense_domain_ids_with_lone_surrogates_do_not_make_every_saved_prior_unreadable()
    {
        // Encoding.UTF8 writes any lone surrogate as U+FFFD: "x\ud800" and "x\ud801" became the same id in the file,
        // which the reader then refused ("appears twice"), for this save and every later one.
        var storage = new MetaStorageManager(new StorageConfig(_dir));
        using var lane = Lane(storage);
        Assert.False(lane.Accept(new DenseUpdate("x\ud800", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
        Assert.False(lane.Accept(new DenseUpdate("x\ud801", 1, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
        lane.RunRound(Round(0.5));
        for (var s = 1; s <= 12; s++)
        {
            Assert.True(lane.Accept(new DenseUpdate("a", s, 0.8, new DomainMetrics(MetaScore: 0.5), Vector(4, 1))));
            Assert.NotNull(lane.RunRound(Round(0.5)));
        }
        var saved = new MetaStorageManager(new StorageConfig(_dir)).LoadDensePrior(); // a restart
        Assert.NotNull(saved);
    }
}
