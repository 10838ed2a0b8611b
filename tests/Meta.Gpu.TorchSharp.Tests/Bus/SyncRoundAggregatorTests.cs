using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>The demo's synchronous aggregator on the in-process bus, with scripted domains.</summary>
public sealed class SyncRoundAggregatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-sync-").FullName;

    private MetaStorageManager Storage() => new(new StorageConfig(_dir));

    /// <summary>Two domains answer every announcement, repeats included (so every round sees duplicates), and
    /// domain a also sends a stale update and an unknown domain one: each round applies a's and b's update
    /// once. a sends prior + 1, b prior + 3: the mean moves the prior by 2, beta 0.5 takes half of it.</summary>
    [Fact]
    public async Task Each_round_applies_one_update_per_expected_domain_whatever_arrives_twice()
    {
        var bus = new EventBus();
        await using (bus)
        {
            using var domains = bus.Subscribe(SinePriorAnnouncement.Topic, async (e, token) =>
            {
                var a = SinePriorAnnouncement.FromPayload(e.Payload);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic, Update("a", a.AnswerSequence - 1, a.Prior, 100), token);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic, Update("zzz", a.AnswerSequence, a.Prior, 100), token);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic, Update("a", a.AnswerSequence, a.Prior, 1), token);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic, Update("a", a.AnswerSequence, a.Prior, 1), token);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic, Update("b", a.AnswerSequence, a.Prior, 3), token);
            });
            using var step = new WeightedMeanReptileStep();
            var aggregator = new SyncRoundAggregator(bus, Storage(), step, ["b", "a"], 0.5, NullLogger.Instance) { RepeatEvery = TimeSpan.FromMilliseconds(20) };

            var prior = await aggregator.RunAsync([0f, 0f, 0f], 3, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(new[] { 3f, 3f, 3f }, prior);
            Assert.True(aggregator.Ignored >= 9, $"ignored {aggregator.Ignored}");
            var saved = Storage().LoadDensePrior()!;
            Assert.Equal(3, saved.Round);
            Assert.Equal(prior, saved.Values);
            Assert.Equal(saved.LastSequences["a"], saved.LastSequences["b"]);

            // A restart on the same folder resumes: the run is complete at 3, and goes on from there when asked.
            var again = new SyncRoundAggregator(bus, Storage(), step, ["a", "b"], 0.5, NullLogger.Instance) { RepeatEvery = TimeSpan.FromMilliseconds(20) };
            Assert.Equal(new[] { 3f, 3f, 3f }, await again.RunAsync([0f, 0f, 0f], 3, null, CancellationToken.None));
            Assert.Equal(3, again.ResumedFrom);
            Assert.Equal(new[] { 4f, 4f, 4f }, await again.RunAsync([0f, 0f, 0f], 4, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        }
    }

    [Fact]
    public async Task A_domain_that_never_answers_is_named_after_the_round_timeout()
    {
        var bus = new EventBus();
        await using (bus)
        {
            using var domains = bus.Subscribe(SinePriorAnnouncement.Topic, async (e, token) =>
            {
                var a = SinePriorAnnouncement.FromPayload(e.Payload);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic, Update("a", a.AnswerSequence, a.Prior, 1), token);
            });
            using var step = new WeightedMeanReptileStep();
            var aggregator = new SyncRoundAggregator(bus, Storage(), step, ["a", "b"], 0.5, NullLogger.Instance)
            {
                RepeatEvery = TimeSpan.FromMilliseconds(20),
                RoundTimeout = TimeSpan.FromMilliseconds(300),
            };
            var error = await Assert.ThrowsAsync<InvalidInputException>(() => aggregator.RunAsync([0f, 0f], 2, null, CancellationToken.None));
            Assert.Contains("round 1: no update from b within", error.Message, StringComparison.Ordinal);
            Assert.Null(Storage().LoadDensePrior());
        }
    }

    [Fact]
    public async Task A_storage_folder_of_other_domains_is_refused_not_overwritten()
    {
        Storage().SaveDensePrior([1f, 2f], 4, new Dictionary<string, long> { ["x"] = 104 });
        var bus = new EventBus();
        await using (bus)
        {
            using var step = new WeightedMeanReptileStep();
            var aggregator = new SyncRoundAggregator(bus, Storage(), step, ["a", "b"], 0.5, NullLogger.Instance);
            var error = await Assert.ThrowsAsync<InvalidInputException>(() => aggregator.RunAsync([0f, 0f], 5, null, CancellationToken.None));
            Assert.Contains("--storage", error.Message, StringComparison.Ordinal);
            Assert.Equal(4, Storage().LoadDensePrior()!.Round);
        }
    }

    /// <summary>A rerun on the same folder with another seed or step size resumed silently: the saved rounds and the
    /// new ones were two runs' mixture. It is refused naming the option; the same settings resume.</summary>
    [Fact]
    public async Task A_rerun_with_other_settings_is_refused_naming_the_option_and_the_same_settings_resume()
    {
        var bus = new EventBus();
        await using (bus)
        {
            using var domains = bus.Subscribe(SinePriorAnnouncement.Topic, async (e, token) =>
            {
                var a = SinePriorAnnouncement.FromPayload(e.Payload);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic, Update("a", a.AnswerSequence, a.Prior, 1), token);
            });
            using var step = new WeightedMeanReptileStep();
            SyncRoundAggregator Aggregator(int seed, double beta, int innerSteps = 5) =>
                new(bus, Storage(), step, ["a"], beta, NullLogger.Instance) { Seed = seed, InnerSteps = innerSteps, RepeatEvery = TimeSpan.FromMilliseconds(20) };
            await Aggregator(42, 0.5).RunAsync([0f], 2, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

            var seed = await Assert.ThrowsAsync<InvalidInputException>(() => Aggregator(7, 0.5).RunAsync([0f], 3, null, CancellationToken.None));
            Assert.StartsWith("--seed 7: the run saved in --storage ", seed.Message, StringComparison.Ordinal);
            Assert.Contains("uses 42", seed.Message, StringComparison.Ordinal);
            var beta = await Assert.ThrowsAsync<InvalidInputException>(() => Aggregator(42, 0.25).RunAsync([0f], 3, null, CancellationToken.None));
            Assert.StartsWith("--beta 0.25:", beta.Message, StringComparison.Ordinal);
            var steps = await Assert.ThrowsAsync<InvalidInputException>(() => Aggregator(42, 0.5, innerSteps: 3).RunAsync([0f], 3, null, CancellationToken.None));
            Assert.StartsWith("--inner-steps 3:", steps.Message, StringComparison.Ordinal);
            Assert.Equal(2, Storage().LoadDensePrior()!.Round);

            // A record with a setting given twice is refused naming the file (it escaped as an ArgumentException
            // from the first read of the parsed object), and the prior beside it is left as it was.
            var recordPath = Path.Combine(Storage().Root, "demo_run.json");
            var record = File.ReadAllText(recordPath);
            File.WriteAllText(recordPath, record.Replace("\"seed\":42", "\"seed\":42,\"seed\":7", StringComparison.Ordinal));
            var twice = await Assert.ThrowsAsync<InvalidInputException>(() => Aggregator(42, 0.5).RunAsync([0f], 3, null, CancellationToken.None));
            Assert.Contains("demo_run.json is not valid JSON", twice.Message, StringComparison.Ordinal);
            Assert.Contains("seed", twice.Message, StringComparison.Ordinal);
            Assert.Equal(2, Storage().LoadDensePrior()!.Round);
            File.WriteAllText(recordPath, record);

            var again = Aggregator(42, 0.5);
            Assert.Equal(new[] { 1.5f }, await again.RunAsync([0f], 3, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(2, again.ResumedFrom);
        }
    }

    [Fact]
    public void The_announcement_round_trips_and_a_damaged_prior_is_refused()
    {
        var announcement = new SinePriorAnnouncement(7, 42, 10, 5, 0.05, 1_000_000, [0.1f, -2.5f, 3.25f]);
        var back = SinePriorAnnouncement.FromPayload(announcement.ToJson());
        Assert.Equal(announcement with { Prior = [] }, back with { Prior = [] });
        Assert.Equal(announcement.Prior, back.Prior);
        Assert.Equal(1_000_008, back.AnswerSequence);

        var json = announcement.ToJson();
        var bytes = Convert.FromBase64String((string)json["prior"]!);
        bytes[40] ^= 0xFF;
        json["prior"] = Convert.ToBase64String(bytes);
        var error = Assert.Throws<InvalidInputException>(() => SinePriorAnnouncement.FromPayload(json));
        Assert.Contains("sine_demo.prior.prior", error.Message, StringComparison.Ordinal);
    }

    private static DenseUpdate Update(string domain, long sequence, float[] prior, float delta) =>
        new(domain, sequence, 1.0, new DomainMetrics(GainP50: 0.5), [.. prior.Select(v => v + delta)]);

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
