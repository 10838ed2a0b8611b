using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Meta.Gpu.Nats;

/// <summary>The JetStream streams of <see cref="NatsEventBus"/>'s durable topics: one per topic, created once per
/// process, through a broker restarting and another process creating the same stream at the same moment.</summary>
public sealed partial class NatsEventBus
{
    /// <summary>Forgets that the stream of <paramref name="topic"/> exists (the broker came back without it).</summary>
    internal void ForgetStream(string topic) => _streams.TryRemove(topic, out _);

    internal Task EnsureStreamAsync(string topic, CancellationToken cancellationToken)
    {
        var lazy = _streams.GetOrAdd(topic, t => new Lazy<Task>(() => CreateStreamAsync(t)));
        var task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            _streams.TryRemove(new KeyValuePair<string, Lazy<Task>>(topic, lazy));
            return EnsureStreamAsync(topic, cancellationToken);
        }
        return task.WaitAsync(cancellationToken);
    }

    /// <summary>The broker's own default duplicate window, kept where the publish timeout is shorter.</summary>
    private static readonly TimeSpan MinDuplicateWindow = TimeSpan.FromMinutes(2);

    private async Task CreateStreamAsync(string topic)
    {
        // Work-queue retention: a message stays until it is acknowledged, then the broker frees it.
        var config = new StreamConfig(NatsSubjects.StreamName(Options.SubjectPrefix, topic), [NatsSubjects.Subject(Options.SubjectPrefix, topic)])
        {
            Storage = StreamConfigStorage.File,
            Retention = StreamConfigRetention.Workqueue,
            // A publish is sent again for up to PublishTimeout after its first send: a resend later than the window
            // was stored a second time. (A stream another process created keeps the window that process gave it.)
            DuplicateWindow = Options.PublishTimeout > MinDuplicateWindow ? Options.PublishTimeout : MinDuplicateWindow,
        };
        // A broker that has just restarted takes a while to serve JetStream again: keep asking, as a publish waits
        // through an outage, up to PublishTimeout. Another process creating the same stream at the same moment
        // can make the broker refuse this creation; asked again, the stream exists and the update goes through.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(50);
        var races = 0;
        while (true)
        {
            try
            {
                // A stream that is not there is created, never updated: a creation fails where another process has
                // just created it (a lost race, asked again), so no prefix takes a stream another one made.
                if (await StreamOfThisPrefixExistsAsync(config).ConfigureAwait(false))
                {
                    await JetStream.CreateOrUpdateStreamAsync(config, _stopping.Token).ConfigureAwait(false);
                }
                else
                {
                    if (AfterStreamLookup is { } between) await between(_stopping.Token).ConfigureAwait(false);
                    try
                    {
                        await JetStream.CreateStreamAsync(config, _stopping.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        if (AfterStreamCreation is { } created) await created(_stopping.Token).ConfigureAwait(false);
                    }
                    // nats-server 2.9 looks for a stream of that name and records the new one under separate locks:
                    // two creations at the same moment can both succeed, the later one taking the name. Look again,
                    // so that the process whose stream lost the name is refused rather than publishing into a
                    // stream nobody reads. (A look made before the other creation lands still passes: the broker's
                    // race, narrowed here, not closed.)
                    if (!await StreamOfThisPrefixExistsAsync(config).ConfigureAwait(false))
                    {
                        if (++races > 3) throw new NatsException($"bus: the stream {config.Name} vanished right after it was created, {races} times");
                        continue;
                    }
                }
                return;
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested
                && ((JetStreamUnavailable(e) && System.Diagnostics.Stopwatch.GetElapsedTime(started) + delay < Options.PublishTimeout)
                    || (LostCreationRace(e) && ++races <= 3)))
            {
                Logger.LogDebug("bus: creating the stream of {Topic} failed ({Error}); asking again", topic, e.Message);
                await Task.Delay(delay, _stopping.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond));
            }
        }
    }

    /// <summary>Tests only: awaited after a lookup found no stream and before it is created (two processes that both
    /// found none). Null in use.</summary>
    internal Func<CancellationToken, Task>? AfterStreamLookup { get; set; }

    /// <summary>Tests only: awaited after a creation returned or failed, before the stream is looked at again (two
    /// processes that both created one). Null in use.</summary>
    internal Func<CancellationToken, Task>? AfterStreamCreation { get; set; }

    /// <summary>
    /// Stream names fold case and turn '.' and '-' into '_' (<see cref="NatsSubjects.StreamName"/>), so two valid
    /// prefixes (run-1 and run_1) can name one stream: updating it to this prefix's subject would take it, and the
    /// durable consumer in it, from the other run, whose work then went nowhere or into this run. Refused instead.
    /// Returns whether the stream exists (with this prefix's subject).
    /// </summary>
    private async Task<bool> StreamOfThisPrefixExistsAsync(StreamConfig config)
    {
        INatsJSStream existing;
        try
        {
            existing = await JetStream.GetStreamAsync(config.Name!, cancellationToken: _stopping.Token).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return false;
        }
        var subjects = existing.Info.Config.Subjects ?? [];
        if (!subjects.SequenceEqual(config.Subjects ?? []))
        {
            // Prefixes are one token: a subject under this prefix is another topic of this deployment, not another prefix.
            var own = Options.SubjectPrefix + ".";
            if (subjects.FirstOrDefault(s => s.StartsWith(own, StringComparison.Ordinal)) is { } sibling)
                throw new InvalidInputException(
                    $"topic '{config.Subjects!.First()[own.Length..]}': its stream {config.Name} already carries topic '{sibling[own.Length..]}' of prefix '{Options.SubjectPrefix}'; " +
                    "stream names ignore case and turn '.' and '-' into '_', so two durable topics must differ otherwise");
            throw new InvalidInputException(
                $"prefix '{Options.SubjectPrefix}': the broker's stream {config.Name} belongs to another prefix (subjects {string.Join(", ", subjects)}); " +
                "stream names ignore case and turn '.' and '-' into '_', so choose a prefix that differs from it otherwise");
        }
        return true;
    }

    /// <summary>The broker's answers to the second of two simultaneous creations of one stream: "subjects overlap
    /// with an existing stream" (10065) or "stream name already in use" (10058). A lasting conflict (another
    /// stream that really owns the subjects) fails again on the next tries and is thrown then.</summary>
    private static bool LostCreationRace(Exception e) => e is NatsJSApiException { Error.ErrCode: 10065 or 10058 };

    /// <summary>JetStream not answering (yet): no responder, no reply in time, or "not ready" (503).</summary>
    private static bool JetStreamUnavailable(Exception e) =>
        e is NatsJSApiNoResponseException or NatsNoRespondersException or NatsNoReplyException or NatsTimeoutException or TimeoutException
        || e is NatsJSApiException { Error.Code: 503 };
}
