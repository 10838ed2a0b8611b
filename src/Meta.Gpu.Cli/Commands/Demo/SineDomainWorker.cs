using System.Globalization;
using System.Threading.Channels;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.TorchSharp;
using Meta.Gpu.TorchSharp.Sine;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using static TorchSharp.torch;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>
/// One domain of the sine demo as its own process (<c>meta-gpu domain</c>): takes the newest prior the aggregator
/// announces, runs the demo's inner loop from it on this domain's task of that round (seeded by the run's seed, the
/// domain id and the round: <see cref="SineRoundTasks"/>) and publishes the adapted parameters as a dense update
/// (durable topic, sequence = the announcement's <see cref="SinePriorAnnouncement.AnswerSequence"/>).
/// </summary>
/// <remarks>A round already answered is not answered again when its announcement repeats: the update is in the
/// broker's stream, and a restarted aggregator gets it redelivered. An update the broker never confirmed stored
/// leaves its round unanswered, to be answered again at the announcement's next repeat. Announcements that skip rounds (a worker that
/// joined late) are answered from the newest one.</remarks>
internal sealed class SineDomainWorker(IEventBus bus, string domainId, int? seed, ILogger logger)
{
    /// <summary>Rounds answered.</summary>
    public int Answered { get; private set; }

    /// <summary>Runs until cancelled, or until the update for meta-round <paramref name="rounds"/> (1-based) is
    /// published, or at once (answering nothing) when the aggregator already announces a later round.
    /// <paramref name="onAnswer"/> sees each answered round's outcome.</summary>
    public async Task RunAsync(long? rounds, Action<long, DomainOutcome>? onAnswer, CancellationToken cancellationToken)
    {
        var latest = Channel.CreateBounded<SinePriorAnnouncement>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        using var subscription = bus.Subscribe(SinePriorAnnouncement.Topic, (e, _) =>
        {
            latest.Writer.TryWrite(SinePriorAnnouncement.FromPayload(e.Payload));
            return ValueTask.CompletedTask;
        });
        set_num_threads(1);
        SineRegressor? model = null;
        ParameterVector? parameters = null;
        (long Base, long Round)? answered = null;
        try
        {
            while (rounds is not { } last || answered is not { } a || a.Round + 1 < last)
            {
                var announcement = await latest.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (seed is { } s && s != announcement.Seed)
                    throw new InvalidInputException($"--seed {s}: the aggregator's run uses seed {announcement.Seed}; leave --seed out or give the same");
                if (answered is { } done && done.Base == announcement.SequenceBase && announcement.Round <= done.Round) continue;
                if (rounds is { } limit && announcement.Round + 1 > limit)
                {
                    // Joined an aggregator already past the last round asked for: answering its round would be
                    // one round more than asked.
                    LogPastLastRound(logger, announcement.Round + 1, limit, null);
                    break;
                }

                if (model is null || model.LearningRate != announcement.InnerLearningRate)
                {
                    parameters?.Dispose();
                    model?.Dispose();
                    model = new SineRegressor(announcement.Seed, announcement.InnerLearningRate);
                    parameters = new ParameterVector(model.Module);
                }
                if (announcement.Prior.Length != parameters!.Length)
                {
                    LogWrongSize(logger, announcement.Prior.Length, parameters.Length, null);
                    continue;
                }
                parameters.CopyFrom(announcement.Prior);
                var (_, x, y) = SineRoundTasks.Sample(announcement.Seed, domainId, announcement.Round, announcement.Shots);
                var outcome = SineDemo.AdaptToTask(model, domainId, x, y, announcement.InnerSteps, cancellationToken);
                var vector = new float[parameters.Length];
                parameters.CopyTo(vector);
                var metrics = new DomainMetrics(
                    MetaScore: Math.Clamp(outcome.Gain, -1, 1),
                    GainP50: outcome.Gain,
                    StabilityAvg: Math.Clamp(outcome.Confidence, 0, 1));
                await bus.PublishAsync(DenseLearningLane.UpdateTopic,
                    new DenseUpdate(domainId, announcement.AnswerSequence, outcome.Confidence, metrics, vector), cancellationToken).ConfigureAwait(false);
                // The round counts as answered only once the broker has stored the update: one given up (the broker
                // away past the publish timeout) is in no stream, and the aggregator, repeating this round's
                // announcement, would wait for it until its round timeout, rerun after rerun. Answered again instead,
                // under the same message id (stored once should the first copy have made it after all).
                try
                {
                    await bus.WaitForIdleAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (NatsException e)
                {
                    LogNotStored(logger, announcement.Round + 1, e.Message, null);
                    continue;
                }
                answered = (announcement.SequenceBase, announcement.Round);
                Answered++;
                onAnswer?.Invoke(announcement.Round + 1, outcome);
            }
        }
        finally
        {
            parameters?.Dispose();
            model?.Dispose();
        }
    }

    private static readonly Action<ILogger, int, int, Exception?> LogWrongSize =
        LoggerMessage.Define<int, int>(LogLevel.Warning, new EventId(41, "SinePriorWrongSize"),
            "announced prior ignored: {Count} values, the sine network has {Expected}");

    private static readonly Action<ILogger, long, long, Exception?> LogPastLastRound =
        LoggerMessage.Define<long, long>(LogLevel.Warning, new EventId(43, "SinePriorPastLastRound"),
            "the aggregator announces round {Round}, past --rounds {Last}: nothing left to answer");

    private static readonly Action<ILogger, long, string, Exception?> LogNotStored =
        LoggerMessage.Define<long, string>(LogLevel.Warning, new EventId(42, "SineUpdateNotStored"),
            "the update for round {Round} was not stored by the broker ({Error}); answering the round again at its next announcement");

    /// <summary>One progress line.</summary>
    public static string Describe(string domainId, long round, DomainOutcome outcome) => string.Create(CultureInfo.InvariantCulture,
        $"{domainId}: round {round}: task loss {outcome.LossBefore:F4} -> {outcome.LossAfter:F4}, confidence {outcome.Confidence:F3}");
}
