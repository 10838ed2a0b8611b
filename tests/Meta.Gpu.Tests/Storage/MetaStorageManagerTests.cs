using System.Text.Json.Nodes;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Storage;

public sealed class MetaStorageManagerTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly RecordingLogger _logger = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage(int retention = 10, TimeProvider? time = null) =>
        new(new StorageConfig(Path.Combine(_folder.Path, "store"), retention), _logger, time);

    private static Dictionary<string, double> Prior(double value) => new(StringComparer.Ordinal)
    {
        ["tau"] = value,
        ["gamma_diversity"] = value + 0.5,
        ["Z_upper"] = -value,
    };

    [Fact]
    public void Loading_before_any_save_gives_null()
    {
        var storage = Storage();
        Assert.Null(storage.LoadPrior());
        Assert.Null(storage.LoadDomainVectors());
        Assert.Null(storage.LoadDensePrior());
        Assert.Equal(0, storage.SizeBytes());
    }

    [Fact]
    public void A_root_that_is_a_file_is_refused_naming_it()
    {
        // Loads read such a root as empty (null), and the first save threw "The file ... already exists".
        var file = Path.Combine(_folder.Path, "store");
        File.WriteAllText(file, "not a folder");
        var error = Assert.Throws<InvalidInputException>(() => Storage());
        Assert.Equal($"{file}: the storage folder is a file, not a folder", error.Message);
    }

    [Fact]
    public void An_empty_dense_prior_is_refused_and_nothing_is_written()
    {
        var storage = Storage();
        var error = Assert.Throws<ArgumentException>(() => storage.SaveDensePrior([], 1, new Dictionary<string, long>()));
        Assert.Equal("values", error.ParamName);
        Assert.Null(storage.LoadDensePrior());
    }

    [Fact]
    public void A_dense_file_of_no_values_is_unusable_and_the_backup_loads()
    {
        // It loaded as a prior of D = 0, and the dense lane's start threw ArgumentOutOfRangeException on it.
        var storage = Storage();
        storage.SaveDensePrior([1f, 2f], 1, new Dictionary<string, long>());
        File.WriteAllBytes(storage.DensePriorPath, DensePriorFile.ToBytes([], 2));

        var loaded = storage.LoadDensePrior()!;

        Assert.Equal([1f, 2f], loaded.Values);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), e => e.Message.Contains("D = 0", StringComparison.Ordinal));
    }

    [Fact]
    public void Prior_round_trips_with_sorted_keys_and_non_finite_values()
    {
        var storage = Storage();
        var prior = Prior(0.1);
        prior["nan_knob"] = double.NaN;
        prior["inf_knob"] = double.NegativeInfinity;
        prior["tiny"] = 1e-300;

        storage.SavePrior(prior);
        var loaded = storage.LoadPrior();

        Assert.NotNull(loaded);
        Assert.Equal(prior.Keys.Order(StringComparer.Ordinal), loaded.Keys);
        foreach (var (key, value) in prior) Assert.Equal(value, loaded[key]);

        // Readable JSON with the keys in ordinal order.
        var json = JsonNode.Parse(File.ReadAllText(storage.PriorPath))!.AsObject();
        Assert.Equal("meta-gpu.global_prior", (string?)json["format"]);
        Assert.Equal(["Z_upper", "gamma_diversity", "inf_knob", "nan_knob", "tau", "tiny"], json["prior"]!.AsObject().Select(p => p.Key));
        Assert.Equal("-inf", (string?)json["prior"]!["inf_knob"]);
        Assert.Empty(_logger.AtLeast(LogLevel.Warning));
    }

    [Fact]
    public void A_backup_that_cannot_be_written_is_logged_and_the_save_still_counts()
    {
        var storage = Storage();
        Directory.CreateDirectory(storage.Root);
        // A file where the backups folder goes: every copy into it fails, as on a full or read-only volume.
        File.WriteAllText(storage.BackupsPath, "in the way");

        storage.SavePrior(Prior(0.3), new Dictionary<string, long> { ["a"] = 4 });
        var checksum = storage.SaveDensePrior([1f, 2f], 3, new Dictionary<string, long> { ["a"] = 4 });

        Assert.Equal(0.3, storage.LoadPrior()!["tau"]);
        Assert.Equal(3, storage.LoadDensePrior()!.Round);
        Assert.Equal(64, checksum.Length);
        var warnings = _logger.AtLeast(LogLevel.Warning);
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("saved, but its backup failed", w.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Domain_vectors_round_trip()
    {
        var storage = Storage();
        var vectors = new Dictionary<string, DomainVector>(StringComparer.Ordinal)
        {
            ["retail"] = new(["g_min", "tau"], [0.25, -1.5]),
            ["health"] = new(["tau"], [(double)0.1f]),
            ["empty"] = new([], []),
        };

        storage.SaveDomainVectors(vectors);
        var loaded = storage.LoadDomainVectors();

        Assert.NotNull(loaded);
        Assert.Equal(["empty", "health", "retail"], loaded.Keys);
        foreach (var (domain, vector) in vectors)
        {
            Assert.Equal(vector.Keys, loaded[domain].Keys);
            Assert.Equal(vector.Vector, loaded[domain].Vector);
        }
    }

    [Fact]
    public void Domain_vectors_with_unpaired_keys_are_refused_and_nothing_is_written()
    {
        var storage = Storage();
        var error = Assert.Throws<InvalidInputException>(() => storage.SaveDomainVectors(
            new Dictionary<string, DomainVector> { ["retail"] = new(["a", "b"], [1.0]) }));
        Assert.StartsWith("domain_vectors.retail", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(storage.DomainVectorsPath));
    }

    [Fact]
    public void Dense_prior_round_trips_with_its_sequences()
    {
        var storage = Storage();
        var values = Enumerable.Range(0, 10_000).Select(i => i * 0.001f).ToArray();
        var sequences = new Dictionary<string, long>(StringComparer.Ordinal) { ["b"] = 3, ["a"] = 12 };

        var checksum = storage.SaveDensePrior(values, 4, sequences);
        var loaded = storage.LoadDensePrior();

        Assert.NotNull(loaded);
        Assert.Equal(values, loaded.Values);
        Assert.Equal(4, loaded.Round);
        Assert.Equal(["a", "b"], loaded.LastSequences.Keys);
        Assert.Equal(12, loaded.LastSequences["a"]);
        Assert.Equal(checksum, loaded.Checksum);
        Assert.True(storage.SizeBytes() >= 2 * (32 + 40_000 + 32));
    }

    [Fact]
    public void Keeps_the_newest_retention_backups()
    {
        var storage = Storage(retention: 4);
        for (var i = 1; i <= 7; i++) storage.SavePrior(Prior(i));

        var backups = storage.ListBackups(MetaStorageManager.PriorFileName);
        Assert.Equal(4, backups.Count);
        Assert.Equal(7.0, LoadFile(backups[0])["tau"]);
        Assert.Equal(4.0, LoadFile(backups[3])["tau"]);
        Assert.Equal(7.0, storage.LoadPrior()!["tau"]);
    }

    [Fact]
    public void Backup_names_sort_by_time_and_stay_unique_within_one_tick_and_when_the_clock_steps_back()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 25, 20, 0, 0, TimeSpan.Zero));
        var storage = Storage(retention: 10, time: clock);
        storage.SavePrior(Prior(1));
        storage.SavePrior(Prior(2)); // same instant
        clock.Now = clock.Now.AddHours(-1); // clock stepped back
        storage.SavePrior(Prior(3));

        var names = storage.ListBackups(MetaStorageManager.PriorFileName).Select(Path.GetFileName).ToList();
        Assert.Equal(3, names.Distinct().Count());
        Assert.Equal("global_prior.20261125T200000.0000002Z.json", names[0]);
        Assert.Equal(3.0, LoadFile(storage.ListBackups(MetaStorageManager.PriorFileName)[0])["tau"]);
        Assert.Equal(1.0, LoadFile(storage.ListBackups(MetaStorageManager.PriorFileName)[2])["tau"]);
    }

    [Fact]
    public void Retention_zero_writes_no_backups()
    {
        var storage = Storage(retention: 0);
        storage.SavePrior(Prior(1));
        storage.SaveDensePrior([1f], 1, new Dictionary<string, long>());
        Assert.Empty(storage.ListBackups(MetaStorageManager.PriorFileName));
        Assert.Empty(storage.ListBackups(MetaStorageManager.DensePriorFileName));
        Assert.Equal(1.0, storage.LoadPrior()!["tau"]);
    }

    [Theory]
    [InlineData("\"last_sequences\":", "\"last_sequencez\":")]
    [InlineData("\"last_sequences_sha256\":", "\"last_sequences_sha257\":")]
    public void A_flipped_byte_in_a_section_name_is_corruption_not_a_file_without_that_section(string name, string flipped)
    {
        // The section names lie outside every checksum: read as a file written without sequences, the applied
        // sequences were dropped without a warning, and redelivered packs would be applied again.
        var storage = Storage();
        storage.SavePrior(Prior(1), new Dictionary<string, long> { ["a"] = 12 });
        var text = File.ReadAllText(storage.PriorPath);
        Assert.Contains(name, text, StringComparison.Ordinal);
        File.WriteAllText(storage.PriorPath, text.Replace(name, flipped, StringComparison.Ordinal));

        var loaded = storage.LoadPriorWithSequences()!;
        Assert.Equal(12, loaded.LastSequences["a"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("loaded from backup", StringComparison.Ordinal));
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("(corrupt)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_stale_backup_temp_left_by_a_killed_writer_is_swept_and_a_fresh_one_is_kept()
    {
        // A backup's stamped name is never written again, so no later save's own sweep met its leftover temp file
        // (a whole prior each, counted in meta_storage_mb).
        var storage = Storage(retention: 2);
        storage.SaveDensePrior(new float[64], 1, new Dictionary<string, long> { ["a"] = 1 });
        var stale = Path.Combine(storage.BackupsPath, "dense_prior.20240101T000000.0000000Z.mgpu.0123456789ab.tmp");
        var fresh = Path.Combine(storage.BackupsPath, "dense_prior.20240101T000001.0000000Z.mgpu.0123456789ac.tmp");
        var otherFile = Path.Combine(storage.BackupsPath, "global_prior.20240101T000000.0000000Z.json.0123456789ab.tmp");
        foreach (var path in new[] { stale, fresh, otherFile }) File.WriteAllBytes(path, new byte[256]);
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow - TimeSpan.FromDays(1));
        File.SetLastWriteTimeUtc(otherFile, DateTime.UtcNow - TimeSpan.FromDays(1));

        storage.SaveDensePrior(new float[64], 2, new Dictionary<string, long> { ["a"] = 2 });

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh)); // may belong to a writer still running
        Assert.True(File.Exists(otherFile)); // another file's: swept by that file's saves
        Assert.Equal(2, storage.ListBackups(MetaStorageManager.DensePriorFileName).Count);
        Assert.Empty(_logger.AtLeast(LogLevel.Warning));
    }

    [Fact]
    public void A_truncated_temp_file_left_behind_is_ignored()
    {
        var storage = Storage();
        storage.SavePrior(Prior(1));
        storage.SaveDensePrior([1f, 2f], 1, new Dictionary<string, long>());
        var full = File.ReadAllBytes(storage.PriorPath);
        File.WriteAllBytes(storage.PriorPath + ".0123456789ab.tmp", full[..(full.Length / 2)]);
        File.WriteAllBytes(storage.DensePriorPath + ".0123456789ab.tmp", [0x4d, 0x47]);
        File.WriteAllBytes(Path.Combine(storage.BackupsPath, "global_prior.20991231T000000.0000000Z.json.0123456789ab.tmp"), full[..10]);

        Assert.Equal(1.0, storage.LoadPrior()!["tau"]);
        Assert.Equal([1f, 2f], storage.LoadDensePrior()!.Values);
        storage.SavePrior(Prior(2));
        Assert.Equal(2.0, storage.LoadPrior()!["tau"]);
        Assert.Empty(_logger.AtLeast(LogLevel.Warning));
    }

    [Fact]
    public void A_corrupted_prior_falls_back_to_the_newest_valid_backup_with_a_warning()
    {
        var storage = Storage();
        storage.SavePrior(Prior(1));
        storage.SavePrior(Prior(2));
        FlipByteInside(storage.PriorPath, "\"tau\"");

        Assert.Equal(2.0, storage.LoadPrior()!["tau"]);
        var warnings = _logger.AtLeast(LogLevel.Warning);
        Assert.Contains(warnings, w => w.Message.Contains("checksum mismatch", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Message.Contains("loaded from backup", StringComparison.Ordinal));
    }

    [Fact]
    public void A_section_given_twice_is_corruption_and_the_backup_is_loaded()
    {
        // The parser let a repeated property through and the reader took the last one, so a file with a stray
        // second "prior" (or "sha256") loaded with no warning, whichever copy the checksum happened to cover.
        var storage = Storage();
        storage.SavePrior(Prior(1));
        storage.SavePrior(Prior(2));
        var text = File.ReadAllText(storage.PriorPath);
        var at = text.IndexOf("\"prior\":", StringComparison.Ordinal);
        Assert.True(at > 0);
        File.WriteAllText(storage.PriorPath, text[..at] + "\"prior\": {\"tau\": 9}, " + text[at..]);

        Assert.Equal(2.0, storage.LoadPrior()!["tau"]);
        var warnings = _logger.AtLeast(LogLevel.Warning);
        Assert.Contains(warnings, w => w.Message.Contains("not valid JSON", StringComparison.Ordinal) && w.Message.Contains("'prior'", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Message.Contains("loaded from backup", StringComparison.Ordinal));
    }

    [Fact]
    public void Skips_corrupt_backups_too_and_takes_the_newest_valid_one()
    {
        var storage = Storage();
        storage.SavePrior(Prior(1));
        storage.SavePrior(Prior(2));
        Truncate(storage.PriorPath, keep: 0.6);
        Truncate(storage.ListBackups(MetaStorageManager.PriorFileName)[0], keep: 0.3);

        Assert.Equal(1.0, storage.LoadPrior()!["tau"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("not valid JSON", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_main_file_falls_back_to_the_backups()
    {
        var storage = Storage();
        storage.SaveDomainVectors(new Dictionary<string, DomainVector> { ["a"] = new(["k"], [1.0]) });
        File.Delete(storage.DomainVectorsPath);

        Assert.Equal([1.0], storage.LoadDomainVectors()!["a"].Vector);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("missing", StringComparison.Ordinal));
    }

    [Fact]
    public void When_every_copy_is_corrupt_loading_throws_instead_of_starting_over()
    {
        var storage = Storage(retention: 2);
        storage.SavePrior(Prior(1));
        storage.SavePrior(Prior(2));
        File.WriteAllText(storage.PriorPath, "{\"format\": \"meta-gpu.global_prior\", \"version\": 1, \"sha256\": \"00\", \"prior\": {}}");
        foreach (var backup in storage.ListBackups(MetaStorageManager.PriorFileName)) Truncate(backup, keep: 0.5);

        var error = Assert.Throws<InvalidDataException>(storage.LoadPrior);
        Assert.Contains("no usable copy", error.Message, StringComparison.Ordinal);
        Assert.Contains("checksum mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupted_dense_prior_falls_back_to_the_newest_valid_backup()
    {
        var storage = Storage();
        storage.SaveDensePrior([1f, 1f, 1f], 1, new Dictionary<string, long> { ["a"] = 1 });
        storage.SaveDensePrior([2f, 2f, 2f], 2, new Dictionary<string, long> { ["a"] = 2 });
        var bytes = File.ReadAllBytes(storage.DensePriorPath);
        bytes[36] ^= 0x10; // inside the second value
        File.WriteAllBytes(storage.DensePriorPath, bytes);
        Truncate(storage.ListBackups(MetaStorageManager.DensePriorFileName)[0], keep: 0.5);

        var loaded = storage.LoadDensePrior()!;
        Assert.Equal(1, loaded.Round);
        Assert.Equal([1f, 1f, 1f], loaded.Values);
        Assert.Equal(1, loaded.LastSequences["a"]);
        var warnings = _logger.AtLeast(LogLevel.Warning);
        Assert.Contains(warnings, w => w.Message.Contains("checksum mismatch", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Message.Contains("truncated", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"format\": \"meta-gpu.")]
    [InlineData("\"sha256\": \"")]
    public void A_byte_that_is_no_UTF8_in_the_envelope_is_corruption_and_the_backup_is_loaded(string marker)
    {
        var storage = Storage();
        storage.SavePrior(Prior(1));
        storage.SavePrior(Prior(2));
        var bytes = File.ReadAllBytes(storage.PriorPath);
        var at = System.Text.Encoding.UTF8.GetString(bytes).IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, marker);
        bytes[at + marker.Length] = 0xFF;
        File.WriteAllBytes(storage.PriorPath, bytes);

        Assert.Equal(2.0, storage.LoadPrior()!["tau"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("not valid UTF-8", StringComparison.Ordinal));
    }

    [Fact]
    public void An_escape_that_is_no_text_in_the_envelope_is_corruption_and_the_backup_is_loaded()
    {
        var storage = Storage();
        storage.SavePrior(Prior(1));
        storage.SavePrior(Prior(2));
        var text = File.ReadAllText(storage.PriorPath);
        var start = text.IndexOf("\"sha256\": \"", StringComparison.Ordinal) + "\"sha256\": \"".Length;
        Assert.True(start > 20);
        File.WriteAllText(storage.PriorPath, text[..start] + "\\ud800" + text[(start + 6)..]);

        Assert.Equal(2.0, storage.LoadPrior()!["tau"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("is not valid text", StringComparison.Ordinal));
    }

    [Fact]
    public void A_prior_file_with_trailing_garbage_or_a_foreign_format_is_corrupt()
    {
        var storage = Storage();
        storage.SavePrior(Prior(1));
        storage.SaveDomainVectors(new Dictionary<string, DomainVector> { ["a"] = new(["k"], [1.0]) });
        File.Copy(storage.DomainVectorsPath, storage.PriorPath, overwrite: true);
        Assert.Equal(1.0, storage.LoadPrior()!["tau"]);
        Assert.Contains(_logger.AtLeast(LogLevel.Warning), w => w.Message.Contains("format is 'meta-gpu.domain_vectors'", StringComparison.Ordinal));
    }

    private static IReadOnlyDictionary<string, double> LoadFile(string path)
    {
        // Any backup is a whole store file: load it through a storage root of its own.
        var root = Path.Combine(Path.GetDirectoryName(path)!, "..", "probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            File.Copy(path, Path.Combine(root, MetaStorageManager.PriorFileName));
            return new MetaStorageManager(new StorageConfig(root, 0)).LoadPrior()!;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void FlipByteInside(string path, string marker)
    {
        var text = File.ReadAllText(path);
        var at = text.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        while (!char.IsAsciiDigit(text[at])) at++;
        var bytes = File.ReadAllBytes(path);
        bytes[at] = bytes[at] == (byte)'1' ? (byte)'3' : (byte)'1';
        File.WriteAllBytes(path, bytes);
    }

    private static void Truncate(string path, double keep)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void When_every_dense_copy_is_corrupt_the_error_names_each_copy()
    {
        // The dense reader does not know the file's name: the error repeated "dense prior: checksum mismatch" once per
        // copy and named none of them.
        using var folder = new TempFolder();
        var storage = new MetaStorageManager(new StorageConfig(Path.Combine(folder.Path, "store"), 2));
        storage.SaveDensePrior([1f, 2f], 1, new Dictionary<string, long>());
        storage.SaveDensePrior([1f, 2f], 2, new Dictionary<string, long>());
        var copies = storage.ListBackups(MetaStorageManager.DensePriorFileName).Append(storage.DensePriorPath).ToList();
        foreach (var file in copies)
        {
            var bytes = File.ReadAllBytes(file);
            bytes[33] ^= 1;
            File.WriteAllBytes(file, bytes);
        }
        var e = Assert.Throws<InvalidDataException>(() => storage.LoadDensePrior());
        foreach (var copy in copies)
            Assert.Contains($"{Path.GetFileName(copy)}: dense prior: checksum mismatch", e.Message, StringComparison.Ordinal);
    }
}
