using System.Text;

namespace Meta.Gpu.TorchSharp.Sine;

/// <summary>
/// The training task of one domain in one meta-round, drawn from a stream seeded by (seed, domain id, round) alone
/// (<see cref="SineTaskSeeding.PerDomainRound"/>): a domain worker on another machine draws the same K shots as
/// the aggregator's in-process check, whatever order the domains run in.
/// </summary>
/// <remarks>The three inputs are mixed with FNV-1a (the id's UTF-8 bytes) and SplitMix64 finalisers rather than
/// <see cref="HashCode"/>, which is randomised per process; <see cref="Random(int)"/> with a seed is the same
/// sequence on every .NET version.</remarks>
public static class SineRoundTasks
{
    /// <summary>The task and its <paramref name="shots"/> points for (<paramref name="seed"/>,
    /// <paramref name="domainId"/>, <paramref name="round"/>); round 0 is the first meta-round.</summary>
    public static (SineTask Task, float[] X, float[] Y) Sample(int seed, string domainId, long round, int shots)
    {
        var random = RandomFor(seed, domainId, round);
        var task = SineTask.Sample(random);
        var (x, y) = task.SampleShots(random, shots);
        return (task, x, y);
    }

    public static Random RandomFor(int seed, string domainId, long round)
    {
        ArgumentNullException.ThrowIfNull(domainId);
        var id = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(domainId))
        {
            id ^= b;
            id *= 1099511628211UL;
        }
        var x = Mix((ulong)(uint)seed);
        x = Mix(x ^ id);
        x = Mix(x ^ (ulong)round);
        return new Random((int)(x >> 33));
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
