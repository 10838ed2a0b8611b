using System.Globalization;
using System.Text.Json;
using Meta.Gpu.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Storage;

/// <summary>
/// The engine's durable state (DESIGN §11): the global prior, the domain vectors and the dense prior with the last
/// applied sequence per domain, each in its own file under <see cref="StorageConfig.Root"/>, and beside each prior
/// the learning agent's state that belongs to it (<c>learner_state.json</c>, <c>dense_lane_state.json</c>:
/// <see cref="LearnerStateJson"/>).
/// </summary>
/// <remarks>
/// <para><b>Atomic writes.</b> Every file is replaced through a temp file in the same folder, flushed to disk and
/// renamed over the old one, the folder then flushed on Linux and macOS (<see cref="AtomicFile"/>), so a crash leaves
/// the previous file or the new one, whole, and a power cut after a save returned cannot take its rename back.</para>
/// <para><b>Backups.</b> After each save the new file is also copied (atomically) to
/// <c>backups/&lt;name&gt;.&lt;yyyyMMddTHHmmss.fffffff&gt;Z&lt;ext&gt;</c>, and only the newest
/// <see cref="StorageConfig.Retention"/> backups of that file are kept. The stamp is UTC time in 100 ns ticks,
/// forced past the newest existing backup, so names sort by time and stay unique within one millisecond and
/// across process restarts (a clock stepping back does not reorder them).</para>
/// <para><b>Detection and fallback.</b> JSON files carry a SHA-256 of their content (<see cref="ChecksummedJson"/>),
/// dense files one of all their bytes (<see cref="DensePriorFile"/>). Loading reads the main file; when it is
/// missing, truncated, corrupt or unreadable while backups exist, it loads the newest valid backup and logs a
/// warning naming what was wrong. It does not repair the main file: the next save replaces it. When nothing was
/// ever saved the load returns null. When every copy is unusable it throws <see cref="InvalidDataException"/>
/// listing them, rather than quietly starting from scratch over a trained prior.</para>
/// <para><b>Learners' state.</b> Written before the prior it belongs to and naming it by its SHA-256, so that a crash
/// between the two leaves a state one save newer than the prior on disk; loading takes the newest valid copy (the
/// main file, then the backups) that names the prior it loaded. The state's backups are pruned only once its prior
/// is committed (at a retention of 0 the replaced main file is kept among them until then), so a failed prior write
/// still leaves the copy that names the prior on disk; a failed save takes back the state backups it added, so saves
/// failing round after round keep them within the retention (one at a retention of 0). A root without the file (an
/// older build) loads as none, without a word; no usable copy that belongs to the prior loads as none with a warning and never throws: the
/// learners then start fresh, the prior being what must not be lost.</para>
/// <para><b>Concurrency.</b> Calls are serialised on this instance; one writer process per root is assumed (two
/// processes saving into one root never corrupt a file, but their backups interleave).</para>
/// </remarks>
public sealed partial class MetaStorageManager
{
    public const string PriorFileName = "global_prior.json";
    public const string DomainVectorsFileName = "domain_vectors.json";
    public const string DensePriorFileName = "dense_prior.mgpu";
    public const string LearnerStateFileName = "learner_state.json";
    public const string DenseLaneStateFileName = "dense_lane_state.json";
    public const string BackupsFolderName = "backups";

    private const string PriorFormat = "meta-gpu.global_prior";
    private const string DomainVectorsFormat = "meta-gpu.domain_vectors";
    private const string LastSequencesName = "last_sequences";
    private const string StampFormat = "yyyyMMdd'T'HHmmss'.'fffffff'Z'";

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();

    /// <exception cref="InvalidInputException">The root is a file.</exception>
    public MetaStorageManager(StorageConfig config, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validated();
        Root = Path.GetFullPath(config.Root);
        // Refused here, as the root lock refuses it: loads read such a root as one where nothing was ever saved, and
        // the first save failed with "The file ... already exists", naming neither the storage nor the fix.
        if (File.Exists(Root)) throw new InvalidInputException($"{config.Root}: the storage folder is a file, not a folder");
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    public StorageConfig Config { get; }

    /// <summary>The root folder, as a full path.</summary>
    public string Root { get; }

    public string PriorPath => Path.Combine(Root, PriorFileName);

    public string DomainVectorsPath => Path.Combine(Root, DomainVectorsFileName);

    public string DensePriorPath => Path.Combine(Root, DensePriorFileName);

    public string LearnerStatePath => Path.Combine(Root, LearnerStateFileName);

    public string DenseLaneStatePath => Path.Combine(Root, DenseLaneStateFileName);

    public string BackupsPath => Path.Combine(Root, BackupsFolderName);

    /// <summary>Saves the global prior (keys in ordinal order; non-finite values as "nan"/"inf"/"-inf").</summary>
    public void SavePrior(IReadOnlyDictionary<string, double> prior) => SavePrior(prior, null);

    /// <summary>
    /// Saves the global prior and, in the same atomic write, the last applied policy-pack sequence of every domain
    /// (DESIGN §10: acknowledge to the broker only after this returns). The sequences go in an optional
    /// <c>last_sequences</c> section with its own checksum, so older loads still read the file; null or empty
    /// writes no section.
    /// </summary>
    public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long>? lastSequences) =>
        SavePrior(prior, lastSequences, null);

    /// <summary>
    /// As <see cref="SavePrior(IReadOnlyDictionary{string, double}, IReadOnlyDictionary{string, long}?)"/>, and
    /// first, when <paramref name="learners"/> is given, the learners' state in <c>learner_state.json</c> (with
    /// backups), naming this prior file by its SHA-256. The state goes first: a crash between the two writes leaves
    /// a state one save newer than the prior, which <see cref="LoadPriorWithSequences"/> passes over for the copy
    /// that belongs to the prior it loaded; a failed state write throws before the prior is touched.
    /// </summary>
    /// <exception cref="InvalidInputException">A name is not well-formed, or <paramref name="learners"/> holds a value
    /// its load would refuse (naming the field); nothing was saved.</exception>
    public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long>? lastSequences, SavedLearnerState? learners)
    {
        ArgumentNullException.ThrowIfNull(prior);
        WellFormedNames.Require(prior.Keys, "prior");
        if (lastSequences is not null) WellFormedNames.Require(lastSequences.Keys, LastSequencesName);
        if (learners is not null) WellFormedNames.Require(learners);
        Action<Utf8JsonWriter>? writeSequences = lastSequences is { Count: > 0 }
            ? writer =>
            {
                writer.WriteStartObject();
                foreach (var (domain, sequence) in lastSequences.OrderBy(p => p.Key, StringComparer.Ordinal))
                    writer.WriteNumber(domain, sequence);
                writer.WriteEndObject();
            }
            : null;
        var bytes = ChecksummedJson.Encode(PriorFormat, "prior", writer =>
        {
            writer.WriteStartObject();
            foreach (var (key, value) in prior.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WritePropertyName(key);
                WriteNumber(writer, value);
            }
            writer.WriteEndObject();
        }, LastSequencesName, writeSequences);
        var stateBytes = learners is null ? null : Loadable(LearnerStateJson.EncodeKeyed(learners, Sha256Hex(bytes)), LearnerStateFileName, LearnerStateJson.DecodeKeyed);
        // A pending update no newer than its domain's applied sequence is one the round that applied it consumed:
        // the restart refuses such a state and every learner starts fresh, so it is refused here, before anything is
        // written.
        if (learners?.Pending is { } pendingPacks && lastSequences is not null)
            foreach (var (domain, pack) in pendingPacks)
                if (pack?.Sequence is { } sequence && lastSequences.TryGetValue(domain, out var applied) && sequence <= applied)
                    throw new InvalidInputException($"learners.pending.{domain}.sequence: {sequence} is not newer than last_sequences.{domain} ({applied}); nothing was saved");
        lock (_gate)
        {
            var added = new List<string>();
            try
            {
                if (stateBytes is not null) WriteStateKeepingPrevious(LearnerStateFileName, stateBytes, added);
                SaveWithBackup(PriorFileName, bytes);
            }
            catch
            {
                TakeBackBackups(LearnerStateFileName, added);
                throw;
            }
            // Only now: until the prior is committed, the previous state (the copy that names the prior on disk)
            // must stay among the backups.
            if (stateBytes is not null) PruneBackups(LearnerStateFileName);
        }
    }

    /// <summary>The global prior with the last applied pack sequences (empty when the file has none) and the
    /// learners' state that belongs to it (<see cref="SavedPrior.Learners"/>; null when there is none, see
    /// <see cref="LoadLearnerState"/>), or null when no prior was ever saved.</summary>
    /// <exception cref="InvalidDataException">The file and every backup are unusable (the learners' state never
    /// throws: without it the agent's learners start fresh).</exception>
    public SavedPrior? LoadPriorWithSequences()
    {
        lock (_gate)
        {
            string? priorSha256 = null;
            var saved = LoadWithFallback(PriorFileName, path =>
            {
                var bytes = File.ReadAllBytes(path);
                var prior = ChecksummedJson.Decode(bytes, PriorFormat, "prior", Path.GetFileName(path),
                    (content, root) => new SavedPrior(ReadPrior(content),
                        ChecksummedJson.DecodeExtra(root, LastSequencesName, Path.GetFileName(path), ReadSequences)
                        ?? new SortedDictionary<string, long>(StringComparer.Ordinal)));
                priorSha256 = Sha256Hex(bytes);
                return prior;
            });
            return saved is null ? null : saved with { Learners = LoadLearnerState(priorSha256!) };
        }
    }

    /// <summary>
    /// The learners' state that belongs to the prior file of SHA-256 <paramref name="priorSha256"/>: the newest
    /// valid copy (<c>learner_state.json</c>, then its backups) that names it. Null, without a word, when no copy
    /// exists (a root written by an older build); null with a warning when none is usable and belongs to that
    /// prior (every copy corrupt, or all newer or older than it). Never throws for a bad copy: the learners then
    /// start fresh, as they did before their state was saved.
    /// </summary>
    public SavedLearnerState? LoadLearnerState(string priorSha256)
    {
        ArgumentNullException.ThrowIfNull(priorSha256);
        lock (_gate)
            return LoadMatching(LearnerStateFileName, priorSha256,
                path => LearnerStateJson.DecodeKeyed(File.ReadAllBytes(path), Path.GetFileName(path)));
    }

    /// <summary>As <see cref="LoadLearnerState"/>, for the dense lane's state and the dense prior whose checksum is
    /// <paramref name="densePriorChecksum"/> (<see cref="DensePrior.Checksum"/>).</summary>
    public SavedDenseLaneState? LoadDenseLaneState(string densePriorChecksum)
    {
        ArgumentNullException.ThrowIfNull(densePriorChecksum);
        lock (_gate)
            return LoadMatching(DenseLaneStateFileName, densePriorChecksum,
                path => LearnerStateJson.DecodeDense(File.ReadAllBytes(path), Path.GetFileName(path)));
    }

    /// <summary>The global prior in ordinal key order, or null when none was ever saved.</summary>
    /// <exception cref="InvalidDataException">The file and every backup are unusable.</exception>
    public IReadOnlyDictionary<string, double>? LoadPrior()
    {
        lock (_gate)
            return LoadWithFallback(PriorFileName, path => ChecksummedJson.Decode(File.ReadAllBytes(path), PriorFormat, "prior", Path.GetFileName(path),
                (content, root) =>
                {
                    // The sequences are checked though not returned: a file whose section failed its checksum loaded
                    // here without a word, where LoadPriorWithSequences fell back to a backup (another prior).
                    ChecksummedJson.DecodeExtra(root, LastSequencesName, Path.GetFileName(path), ReadSequences);
                    return ReadPrior(content);
                }));
    }

    /// <summary>Saves every domain's vector (domain ids in ordinal order).</summary>
    public void SaveDomainVectors(IReadOnlyDictionary<string, DomainVector> vectors)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        WellFormedNames.Require(vectors.Keys, "domain_vectors");
        foreach (var (domain, vector) in vectors)
        {
            (vector ?? throw new InvalidInputException($"domain_vectors.{domain}: null")).Validated($"domain_vectors.{domain}");
            WellFormedNames.Require(vector.Keys, $"domain_vectors.{domain}.keys");
        }
        var bytes = ChecksummedJson.Encode(DomainVectorsFormat, "domains", writer =>
        {
            writer.WriteStartObject();
            foreach (var (domain, vector) in vectors.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(domain);
                writer.WriteStartArray("keys");
                foreach (var key in vector.Keys) writer.WriteStringValue(key);
                writer.WriteEndArray();
                writer.WriteStartArray("vector");
                foreach (var value in vector.Vector) WriteNumber(writer, value);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        });
        lock (_gate) SaveWithBackup(DomainVectorsFileName, bytes);
    }

    /// <summary>Every domain's vector in ordinal domain order, or null when none was ever saved.</summary>
    /// <exception cref="InvalidDataException">The file and every backup are unusable.</exception>
    public IReadOnlyDictionary<string, DomainVector>? LoadDomainVectors()
    {
        lock (_gate)
            return LoadWithFallback(DomainVectorsFileName, path => ChecksummedJson.Decode(File.ReadAllBytes(path), DomainVectorsFormat, "domains", Path.GetFileName(path), ReadDomainVectors));
    }

    /// <summary>
    /// Saves the dense prior with the last applied sequence of every domain, in one file so that both change
    /// together (DESIGN §10: acknowledge to the broker only after this returns). Returns the file's SHA-256.
    /// </summary>
    public string SaveDensePrior(ReadOnlySpan<float> values, long round, IReadOnlyDictionary<string, long> lastSequences) =>
        SaveDensePrior(values, round, lastSequences, null);

    /// <summary>As <see cref="SaveDensePrior(ReadOnlySpan{float}, long, IReadOnlyDictionary{string, long})"/>, and,
    /// when <paramref name="state"/> is given, the dense lane's state in <c>dense_lane_state.json</c> (with backups),
    /// naming the new dense file by its checksum: committed after the dense file is written and before it is renamed
    /// into place, so a crash between them leaves a state one save newer than the prior (passed over at load) and a
    /// failed state write leaves the old dense file.</summary>
    /// <exception cref="ArgumentException"><paramref name="values"/> is empty; nothing is written.</exception>
    /// <exception cref="InvalidInputException"><paramref name="state"/> holds a value its load would refuse (naming
    /// the field); nothing is written.</exception>
    public string SaveDensePrior(ReadOnlySpan<float> values, long round, IReadOnlyDictionary<string, long> lastSequences, SavedDenseLaneState? state)
    {
        ArgumentNullException.ThrowIfNull(lastSequences);
        // Written, such a file loaded as a prior of D = 0, which the dense lane cannot hold: its start then threw.
        if (values.IsEmpty) throw new ArgumentException("a dense prior has at least one value", nameof(values));
        // The file's own encoder refuses a malformed id in lastSequences; the state's JSON would not.
        if (state is not null) WellFormedNames.Require(state);
        lock (_gate)
        {
            string checksum;
            var added = new List<string>();
            try
            {
                using var file = AtomicFile.Create(DensePriorPath);
                checksum = DensePriorFile.Write(file.Stream, values, round, lastSequences);
                if (state is not null) WriteStateKeepingPrevious(DenseLaneStateFileName, Loadable(LearnerStateJson.EncodeDense(state, checksum), DenseLaneStateFileName, LearnerStateJson.DecodeDense), added);
                file.Commit();
            }
            catch
            {
                TakeBackBackups(DenseLaneStateFileName, added);
                throw;
            }
            WriteBackup(DensePriorFileName);
            if (state is not null) PruneBackups(DenseLaneStateFileName);
            return checksum;
        }
    }

    /// <summary>The dense prior and its sequences, or null when none was ever saved.</summary>
    /// <exception cref="InvalidDataException">The file and every backup are unusable.</exception>
    public DensePrior? LoadDensePrior()
    {
        lock (_gate)
            return LoadWithFallback(DensePriorFileName, path =>
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                var prior = DensePriorFile.Read(stream);
                if (stream.Position != stream.Length)
                    throw new InvalidInputException($"{Path.GetFileName(path)}: {stream.Length - stream.Position} unexpected bytes after the checksum");
                if (prior.D == 0) throw new InvalidInputException($"{Path.GetFileName(path)}: D = 0 (a dense prior has at least one value)");
                return prior;
            });
    }

    /// <summary>The backups of <paramref name="fileName"/> (one of the *FileName constants), newest first.</summary>
    public IReadOnlyList<string> ListBackups(string fileName)
    {
        var stem = Path.GetFileNameWithoutExtension(fileName);
        var extension = Path.GetExtension(fileName);
        if (!Directory.Exists(BackupsPath)) return [];
        return [.. Directory.EnumerateFiles(BackupsPath, $"{stem}.*{extension}")
            .Where(path => ParseStamp(Path.GetFileName(path), stem, extension) is not null)
            .OrderByDescending(path => Path.GetFileName(path), StringComparer.Ordinal)];
    }

    /// <summary>Bytes of every file under the root (main files, backups, leftovers): the `meta_storage_mb` figure.</summary>
    public long SizeBytes()
    {
        // Under the gate, as every other call: measured while another thread saved, a temp file renamed into place
        // or a backup pruned between the listing and its length threw FileNotFoundException.
        lock (_gate)
        {
            if (!Directory.Exists(Root)) return 0;
            return new DirectoryInfo(Root).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        }
    }

    private void SaveWithBackup(string fileName, byte[] bytes)
    {
        AtomicFile.WriteAllBytes(Path.Combine(Root, fileName), bytes);
        WriteBackup(fileName);
    }

    /// <summary>Copies the just committed <paramref name="fileName"/> into the backups and prunes the oldest. The
    /// save is the main file's commit: a backup that cannot be written or pruned (a full disk, a locked old copy)
    /// is logged, and the save still counts (its caller acknowledges on it), rather than every save failing while
    /// the problem lasts.</summary>
    private void WriteBackup(string fileName) => Backup(() => CopyAndPrune(fileName), fileName);

    /// <summary>
    /// Writes a learners' state file, which names a prior written after it, without pruning its backups: until that
    /// prior is committed (<see cref="PruneBackups"/> then), the copy naming the prior on disk must survive a
    /// failed prior write or a crash between the two. At a retention of 0 no backup keeps it, so the main file about
    /// to be replaced is copied aside first (pruned with the rest once the prior is committed). The backups it writes
    /// are added to <paramref name="added"/>, for <see cref="TakeBackBackups"/>.
    /// </summary>
    private void WriteStateKeepingPrevious(string fileName, byte[] bytes, List<string> added)
    {
        var path = Path.Combine(Root, fileName);
        if (Config.Retention == 0 && File.Exists(path)) Backup(() => added.Add(CopyToBackups(fileName)), fileName);
        AtomicFile.WriteAllBytes(path, bytes);
        if (Config.Retention > 0) Backup(() => added.Add(CopyToBackups(fileName)), fileName);
    }

    /// <summary>
    /// After a failed save, deletes the state backups it <paramref name="added"/>, unless one is the only backup of
    /// <paramref name="fileName"/> left; a failure is logged, as a backup's is. Kept, they piled up one a save for as
    /// long as the prior write kept failing (only a committed prior prunes them). None of them is needed: the copy
    /// that names the prior on disk is the main file's backup written by the save that committed that prior (retention
    /// &gt; 0), or at a retention of 0 the main file set aside by the first failed save since (every later one sets
    /// aside a state naming a prior that was never committed); the new state itself stays in the main file.
    /// </summary>
    private void TakeBackBackups(string fileName, List<string> added) => Backup(() =>
    {
        foreach (var copy in added)
            if (ListBackups(fileName).Count > 1) File.Delete(copy);
    }, fileName);

    /// <summary>Keeps the newest <see cref="StorageConfig.Retention"/> backups of <paramref name="fileName"/>; a
    /// failure is logged, as a backup's is.</summary>
    private void PruneBackups(string fileName) => Backup(() => Prune(fileName), fileName);

    private void Backup(Action work, string fileName)
    {
        try
        {
            work();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogBackupFailed(_logger, fileName, e.Message);
        }
    }

    private void CopyAndPrune(string fileName)
    {
        if (Config.Retention > 0) CopyToBackups(fileName);
        Prune(fileName);
    }

    /// <summary>Copies the main <paramref name="fileName"/> to a new stamped backup; returns its path.</summary>
    private string CopyToBackups(string fileName)
    {
        var existing = ListBackups(fileName);
        var stem = Path.GetFileNameWithoutExtension(fileName);
        var extension = Path.GetExtension(fileName);
        var ticks = _time.GetUtcNow().UtcTicks;
        if (existing.Count > 0 && ParseStamp(Path.GetFileName(existing[0]), stem, extension) is long newest && ticks <= newest)
        {
            // A stamp at the last tick (a clock set far ahead, a name given by hand) leaves none past it: the
            // DateTime constructor's ArgumentOutOfRangeException escaped the backup's failure handling, and every
            // save threw after its main file was committed.
            if (newest == DateTime.MaxValue.Ticks)
                throw new IOException($"{Path.GetRelativePath(Root, existing[0])}: stamped at the last tick a backup name can hold, so no later backup can be named (move it out of {BackupsFolderName}/)");
            ticks = newest + 1;
        }
        var stamp = new DateTime(ticks, DateTimeKind.Utc).ToString(StampFormat, CultureInfo.InvariantCulture);
        var backup = Path.Combine(BackupsPath, $"{stem}.{stamp}{extension}");
        AtomicFile.Copy(Path.Combine(Root, fileName), backup);
        return backup;
    }

    private void Prune(string fileName)
    {
        foreach (var old in ListBackups(fileName).Skip(Config.Retention))
            File.Delete(old);
        // A writer killed while copying a backup leaves that copy's temp file, whose stamped name no later save
        // writes again (so no save's own sweep meets it): each one is a whole prior.
        AtomicFile.DeleteStaleTemps(BackupsPath, $"{Path.GetFileNameWithoutExtension(fileName)}.*{Path.GetExtension(fileName)}.*{AtomicFile.TempExtension}");
    }

    /// <summary>The newest valid copy of <paramref name="fileName"/> (main file, then backups) that
    /// <paramref name="read"/> says belongs to the prior <paramref name="priorSha256"/>; see
    /// <see cref="LoadLearnerState"/>.</summary>
    private T? LoadMatching<T>(string fileName, string priorSha256, Func<string, (T State, string PriorSha256)> read) where T : class
    {
        var (candidates, problems) = Copies(fileName);
        if (candidates.Count == 0 && problems.Count == 1) return null;

        var state = FirstUsableCopy<T>(fileName, candidates, problems, candidate =>
        {
            var (copy, belongsTo) = read(candidate);
            return string.Equals(belongsTo, priorSha256, StringComparison.OrdinalIgnoreCase)
                ? ((T?)copy, (string?)null)
                : ((T?)null, $"{Path.GetFileName(candidate)}: belongs to another prior file (sha256 {belongsTo}, the loaded one is {priorSha256})");
        });
        if (state is null) LogStateNotRestored(_logger, fileName, string.Join("; ", problems));
        return state;
    }

    /// <summary>A state's bytes, read back as a load would read them before anything is written: a state the loader
    /// refuses (a beta that is not finite, a confidence outside [0, 1], a non-finite pending value) was saved, passed
    /// over at the next start with a warning, and the learners started fresh; the copy before it named the prior this
    /// save replaced, so it was lost as well.</summary>
    /// <exception cref="InvalidInputException">Naming the field the loader refuses; nothing was saved.</exception>
    private static byte[] Loadable<T>(byte[] bytes, string fileName, Func<byte[], string, T> decode)
    {
        try
        {
            decode(bytes, fileName);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"{e.Message}; nothing was saved", e);
        }
        return bytes;
    }

    private static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    private T? LoadWithFallback<T>(string fileName, Func<string, T> read) where T : class
    {
        var (candidates, problems) = Copies(fileName);
        // Nothing saved yet; but a backups folder that cannot be listed may hold the only copy.
        if (candidates.Count == 0 && problems.Count == 1) return null;

        return FirstUsableCopy<T>(fileName, candidates, problems, candidate => (read(candidate), null))
            ?? throw new InvalidDataException($"{Path.Combine(Root, fileName)}: no usable copy ({string.Join("; ", problems)})");
    }

    /// <summary>The copies of <paramref name="fileName"/> to try, the main file then the backups newest first, and
    /// what is wrong so far: the main file missing, the backups folder unlistable (the backups are a fallback: a
    /// good main file is read all the same).</summary>
    private (List<string> Candidates, List<string> Problems) Copies(string fileName)
    {
        var main = Path.Combine(Root, fileName);
        var problems = new List<string>();
        var candidates = new List<string>();
        if (File.Exists(main)) candidates.Add(main);
        // Said as it is: a folder of the file's name was reported as the file missing.
        else problems.Add(Directory.Exists(main) ? $"{fileName}: a folder, not a file" : $"{fileName}: missing");
        try
        {
            candidates.AddRange(ListBackups(fileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{BackupsFolderName}: {e.Message}");
        }
        return (candidates, problems);
    }

    /// <summary>
    /// The first of <paramref name="candidates"/> (the main file, then the backups newest first) that
    /// <paramref name="read"/> reads and does not pass over (a non-null reason, added to <paramref name="problems"/>
    /// as it is); a copy it cannot read is logged and its problem added. Taking a backup is logged with the problems
    /// before it. Null when no copy is taken.
    /// </summary>
    private T? FirstUsableCopy<T>(string fileName, List<string> candidates, List<string> problems, Func<string, (T? Value, string? PassedOver)> read)
        where T : class
    {
        var main = Path.Combine(Root, fileName);
        foreach (var candidate in candidates)
        {
            try
            {
                var (result, passedOver) = read(candidate);
                if (passedOver is not null)
                {
                    problems.Add(passedOver);
                    continue;
                }
                if (!string.Equals(candidate, main, StringComparison.Ordinal))
                    LogFellBack(_logger, fileName, Path.GetRelativePath(Root, candidate), string.Join("; ", problems));
                return result;
            }
            catch (Exception e) when (e is InvalidInputException or IOException or UnauthorizedAccessException)
            {
                // Each problem names its copy: a reader that does not know the file's name (the dense prior's)
                // repeated one message per copy, and which copies were tried went unsaid.
                var name = Path.GetFileName(candidate);
                var problem = e is InvalidInputException && e.Message.StartsWith(name, StringComparison.Ordinal) ? e.Message : $"{name}: {e.Message}";
                LogUnusable(_logger, Path.GetRelativePath(Root, candidate), problem);
                problems.Add(problem);
            }
        }
        return null;
    }

    private static long? ParseStamp(string name, string stem, string extension)
    {
        if (!name.StartsWith(stem + ".", StringComparison.Ordinal) || !name.EndsWith(extension, StringComparison.Ordinal)) return null;
        var stamp = name.AsSpan(stem.Length + 1, name.Length - stem.Length - 1 - extension.Length);
        return DateTime.TryParseExact(stamp, StampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? time.Ticks
            : null;
    }

    internal static void WriteNumber(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteStringValue(WireJson.NonFiniteName(value));
    }

    internal static double ReadNumber(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return element.GetDouble();
            case JsonValueKind.String when WireJson.ParseNonFinite(element.GetString()) is double special:
                return special;
            default:
                throw new InvalidInputException($"{path}: expected a number, got {element.ValueKind}");
        }
    }

    private static SortedDictionary<string, double> ReadPrior(JsonElement content)
    {
        if (content.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"prior: expected an object, got {content.ValueKind}");
        var prior = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var property in content.EnumerateObject())
        {
            if (!prior.TryAdd(property.Name, ReadNumber(property.Value, $"prior.{property.Name}")))
                throw new InvalidInputException($"prior.{property.Name}: duplicate key");
        }
        return prior;
    }

    private static SortedDictionary<string, long> ReadSequences(JsonElement content)
    {
        if (content.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{LastSequencesName}: expected an object, got {content.ValueKind}");
        var sequences = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var property in content.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out var sequence))
                throw new InvalidInputException($"{LastSequencesName}.{property.Name}: expected an integer");
            if (!sequences.TryAdd(property.Name, sequence))
                throw new InvalidInputException($"{LastSequencesName}.{property.Name}: duplicate key");
        }
        return sequences;
    }

    private static SortedDictionary<string, DomainVector> ReadDomainVectors(JsonElement content)
    {
        if (content.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"domains: expected an object, got {content.ValueKind}");
        var result = new SortedDictionary<string, DomainVector>(StringComparer.Ordinal);
        foreach (var domain in content.EnumerateObject())
        {
            var path = $"domains.{domain.Name}";
            if (domain.Value.ValueKind != JsonValueKind.Object
                || !domain.Value.TryGetProperty("keys", out var keysNode) || keysNode.ValueKind != JsonValueKind.Array
                || !domain.Value.TryGetProperty("vector", out var vectorNode) || vectorNode.ValueKind != JsonValueKind.Array)
                throw new InvalidInputException($"{path}: expected {{keys: [...], vector: [...]}}");
            var keys = keysNode.EnumerateArray()
                .Select((k, i) => k.ValueKind == JsonValueKind.String ? k.GetString()! : throw new InvalidInputException($"{path}.keys[{i}]: expected a string"))
                .ToArray();
            var vector = vectorNode.EnumerateArray().Select((v, i) => ReadNumber(v, $"{path}.vector[{i}]")).ToArray();
            if (!result.TryAdd(domain.Name, new DomainVector(keys, vector).Validated(path)))
                throw new InvalidInputException($"{path}: duplicate domain");
        }
        return result;
    }

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "storage: {File} is unusable: {Problem}")]
    private static partial void LogUnusable(ILogger logger, string file, string problem);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "storage: {File} loaded from backup {Backup} ({Problems})")]
    private static partial void LogFellBack(ILogger logger, string file, string backup, string problems);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "storage: no usable {File} belongs to the loaded prior, the learners start fresh ({Problems})")]
    private static partial void LogStateNotRestored(ILogger logger, string file, string problems);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "storage: {File} saved, but its backup failed: {Problem}")]
    private static partial void LogBackupFailed(ILogger logger, string file, string problem);
}
