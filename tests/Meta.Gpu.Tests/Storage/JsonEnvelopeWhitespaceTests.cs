using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// README "Storage": "a truncated or corrupt file is detected, and loading falls back to the newest valid backup"; the
/// learners' state names its prior by the SHA-256 of all the prior file's bytes. Whitespace outside the checksummed
/// sections (a newline appended after the final one, a space before the opening brace, a tab for an indenting space
/// in the envelope) left JSON that parsed and passed every checksum, so such a <c>global_prior.json</c> loaded as
/// whole while its bytes no longer matched the SHA-256 the newest state names: the learners started fresh (a warning)
/// although the newest backup held the very prior that state belongs to. A file that is not byte for byte as written
/// around its sections is detected, as a flipped byte inside them is.
/// </summary>
public sealed class JsonEnvelopeWhitespaceTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static SavedLearnerState State(double ema) => new(
        new Dictionary<string, SavedDomainLearner> { ["a"] = new(ema, 0.5, 0.5, [0.1], new Dictionary<string, double> { ["tau"] = 1.0 }, 2, 1) },
        new SavedOptimizerState(0.1, 0.2));

    public static TheoryData<string> Changes => new() { "append newline", "prepend space", "tab for the first indent" };

    private static byte[] Changed(byte[] whole, string change) => change switch
    {
        "append newline" => [.. whole, (byte)'\n'],
        "prepend space" => [(byte)' ', .. whole],
        // {\n  "format": ...: the byte after the first newline is an indenting space.
        _ => [.. whole[..2], (byte)'\t', .. whole[3..]],
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void A_prior_file_with_whitespace_changed_around_its_sections_falls_back_to_the_backup_and_keeps_the_learners(string change)
    {
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 }, new Dictionary<string, long> { ["a"] = 1 }, State(0.25));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 }, new Dictionary<string, long> { ["a"] = 2 }, State(0.75));
        var whole = File.ReadAllBytes(storage.PriorPath);
        Assert.Equal((byte)' ', whole[2]);
        File.WriteAllBytes(storage.PriorPath, Changed(whole, change));

        var loaded = storage.LoadPriorWithSequences()!;

        Assert.Equal(2.0, loaded.Prior["tau"]);
        Assert.Equal(2, loaded.LastSequences["a"]);
        Assert.True(loaded.Learners is not null, $"{change}: the learners' state was not restored");
        Assert.Equal(0.75, loaded.Learners.Domains["a"].EmaScore);
    }
}
