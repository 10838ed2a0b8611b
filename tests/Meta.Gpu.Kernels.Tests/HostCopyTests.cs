namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// Copies between small managed arrays and the device while another thread keeps compacting the heap: every
/// round trip must give back the values sent. ILGPU turns the host span into a raw pointer with allocations in
/// between, so an unpinned array could move under the copy (rare wrong ilgpu-cpu results in full test runs that
/// never replayed with the same seed); <see cref="Copy"/> pins it for the whole copy.
/// </summary>
public sealed class HostCopyTests
{
    [Fact]
    public void Round_trips_survive_heap_compactions()
    {
        using var device = KernelAccelerator.TryCreate(DeviceKind.IlgpuCpu) ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        using var buffer = new DeviceBuffer<float>(device.Accelerator);
        var stream = device.Accelerator.DefaultStream;
        var stop = 0;
        var compactor = new Thread(() =>
        {
            var keep = new List<byte[]>();
            while (Volatile.Read(ref stop) == 0)
            {
                // Survivors and garbage interleaved, so a compaction has something to slide.
                for (var i = 0; i < 64; i++) keep.Add(new byte[64 + i]);
                keep.RemoveRange(0, keep.Count / 2);
                GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true);
            }
        });
        compactor.Start();
        try
        {
            // A few seconds of round trips: without the pins, runs here failed within about 500 rounds (the first
            // failure seen at round 0).
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var round = 0; round < 2_000 && clock.Elapsed < TimeSpan.FromSeconds(3); round++)
            {
                // Fresh gen-0 arrays each round: the ones a collection moves.
                var sent = new float[37];
                for (var i = 0; i < sent.Length; i++) sent[i] = round * 64 + i;
                var view = buffer.Upload(sent);
                var back = new float[37];
                Copy.ToHost(stream, view, back);
                for (var i = 0; i < sent.Length; i++)
                    Assert.True(sent[i] == back[i], $"round {round}, element {i}: {back[i]} came back for {sent[i]}");
            }
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            compactor.Join();
        }
    }
}
