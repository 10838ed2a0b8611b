using System.Text;
using System.Text.RegularExpressions;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// The writer spells every checksum in lowercase hex, and the learners' state names its prior by the SHA-256 of all
/// the prior file's bytes. A single flipped bit (0x20) in a checksum's hex letter only changes its case: compared
/// without case, such a corrupt <c>global_prior.json</c> was taken as whole, while its bytes no longer matched the
/// SHA-256 every learner state names, so the learners started fresh (a warning) although the newest backup held the
/// very prior that the newest state belongs to. A corrupt file is detected and the load falls back to that backup
/// (README "Storage").
/// </summary>
public sealed class ChecksumCaseFlipTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static SavedLearnerState State(double ema) => new(
        new Dictionary<string, SavedDomainLearner> { ["a"] = new(ema, 0.5, 0.5, [0.1], new Dictionary<string, double> { ["tau"] = 1.0 }, 2, 1) },
        new SavedOptimizerState(0.1, 0.2));

    /// <summary>Flips bit 0x20 of the first hex letter of <paramref name="field"/>'s value: its case.</summary>
    private static void FlipCaseOfAHexLetter(string path, string field)
    {
        var bytes = File.ReadAllBytes(path);
        var match = Regex.Match(Encoding.UTF8.GetString(bytes), $"\"{field}\": \"[0-9]*[a-f]");
        Assert.True(match.Success, $"{field} has a hex letter");
        bytes[match.Index + match.Length - 1] ^= 0x20;
        File.WriteAllBytes(path, bytes);
    }

    [Theory]
    [InlineData("sha256")]
    [InlineData("last_sequences_sha256")]
    public void A_prior_file_whose_checksum_has_a_flipped_bit_falls_back_to_the_backup_and_keeps_the_learners(string field)
    {
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 }, new Dictionary<string, long> { ["a"] = 1 }, State(0.25));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 }, new Dictionary<string, long> { ["a"] = 2 }, State(0.75));
        FlipCaseOfAHexLetter(storage.PriorPath, field);

        var loaded = storage.LoadPriorWithSequences()!;

        Assert.Equal(2.0, loaded.Prior["tau"]);
        Assert.Equal(2, loaded.LastSequences["a"]);
        Assert.NotNull(loaded.Learners);
        Assert.Equal(0.75, loaded.Learners.Domains["a"].EmaScore);
    }
}
