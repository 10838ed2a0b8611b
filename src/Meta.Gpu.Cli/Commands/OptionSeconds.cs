using Meta.Gpu.Nats;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Cli.Commands;

/// <summary>A duration option given in seconds (<c>--ack-wait</c>, <c>--connect-timeout</c>, <c>--round-timeout</c>):
/// positive, and no longer than a timer can wait (<see cref="DrainTimeout.LongestTimed"/>, about 24.8 days), so that
/// 1e300 is an error naming the option rather than a TimeSpan overflow.</summary>
internal static class OptionSeconds
{
    public static TimeSpan Parse(double seconds, string option)
    {
        if (!(seconds > 0) || !(seconds <= DrainTimeout.LongestTimed.TotalSeconds))
            throw new InvalidInputException(FormattableString.Invariant(
                $"{option}: {seconds} must be a positive number of seconds, at most {DrainTimeout.LongestTimed.TotalSeconds:0} (about 24.8 days)"));
        // Under a tick (100 ns) it is a zero TimeSpan, refused later under the field's name ("connect_timeout: 0 s").
        var duration = TimeSpan.FromSeconds(seconds);
        if (duration <= TimeSpan.Zero)
            throw new InvalidInputException(FormattableString.Invariant(
                $"{option}: {seconds} s is shorter than a timer can wait, the least is {TimeSpan.FromTicks(1).TotalSeconds} s"));
        return duration;
    }

    /// <summary><c>--ack-wait</c>: as <see cref="Parse"/>, and at least <see cref="NatsBusOptions.MinAckWait"/>.</summary>
    public static TimeSpan ParseAckWait(double seconds)
    {
        var wait = Parse(seconds, "--ack-wait");
        if (wait < NatsBusOptions.MinAckWait)
            throw new InvalidInputException(FormattableString.Invariant($"--ack-wait: {seconds} s is below the least, {NatsBusOptions.MinAckWait.TotalSeconds} s"));
        return wait;
    }
}
