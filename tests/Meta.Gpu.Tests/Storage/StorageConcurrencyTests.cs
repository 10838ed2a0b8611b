using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// MetaStorageManager says "Calls are serialised on this instance": threads saving and loading through one instance
/// see no error, every load returns one of the saved values whole, and the backups stay within the retention.
/// </summary>
public sealed class StorageConcurrencyTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Dictionary<string, double> Prior(int value) => new(StringComparer.Ordinal)
    {
        ["a"] = value,
        ["b"] = value * 2,
        ["c"] = -value,
    };

    [Fact]
    public void Threads_saving_and_loading_through_one_instance_see_whole_priors_and_no_error()
    {
        var storage = new MetaStorageManager(new StorageConfig(Path.Combine(_folder.Path, "store"), 3), new RecordingLogger());
        storage.SavePrior(Prior(0), new Dictionary<string, long> { ["d"] = 0 });
        storage.SaveDensePrior(new float[] { 0, 0, 0 }, 0, new Dictionary<string, long> { ["d"] = 0 });
        const int threads = 4;
        const int iterations = 60;
        var start = new Barrier(threads);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                for (var i = 1; i <= iterations; i++)
                {
                    var v = t * 1000 + i;
                    if (t % 2 == 0)
                    {
                        storage.SavePrior(Prior(v), new Dictionary<string, long> { ["d"] = v });
                        storage.SaveDensePrior(new float[] { v, v, v }, v, new Dictionary<string, long> { ["d"] = v });
                    }
                    var loaded = storage.LoadPriorWithSequences()!;
                    var a = (int)loaded.Prior["a"];
                    if (loaded.Prior["b"] != a * 2 || loaded.Prior["c"] != -a || loaded.LastSequences["d"] != a)
                        failures.Enqueue($"torn prior: {string.Join(",", loaded.Prior)} / {string.Join(",", loaded.LastSequences)}");
                    var dense = storage.LoadDensePrior()!;
                    if (dense.Values[0] != dense.Values[2] || dense.Round != (long)dense.Values[0])
                        failures.Enqueue($"torn dense prior: round {dense.Round}, {string.Join(",", dense.Values)}");
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {t}: {e.GetType().Name}: {e.Message}");
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
        Assert.InRange(storage.ListBackups(MetaStorageManager.PriorFileName).Count, 1, 3);
        Assert.InRange(storage.ListBackups(MetaStorageManager.DensePriorFileName).Count, 1, 3);
    }

    [Fact]
    public void Measuring_the_root_while_another_thread_saves_never_throws()
    {
        // SizeBytes (meta_storage_mb) is read after each save, and a publisher may read it at any time: a file that
        // a save renames or prunes between the listing and its length must not make the measurement fail.
        var storage = new MetaStorageManager(new StorageConfig(Path.Combine(_folder.Path, "store"), 2), new RecordingLogger());
        storage.SavePrior(Prior(0));
        using var stop = new CancellationTokenSource();
        var start = new Barrier(2);
        var saver = new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 1; !stop.IsCancellationRequested && i < 3000; i++) storage.SavePrior(Prior(i));
        });
        saver.Start();
        start.SignalAndWait();
        Exception? failure = null;
        var measured = 0;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(2) && saver.IsAlive)
            {
                Assert.True(storage.SizeBytes() > 0);
                measured++;
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            stop.Cancel();
            saver.Join();
        }
        Assert.True(failure is null, $"after {measured} measurements: {failure}");
    }
}
