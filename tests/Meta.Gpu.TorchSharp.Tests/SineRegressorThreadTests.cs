using Meta.Gpu.TorchSharp.Sine;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The sine network's inner loop gives the same parameters on whichever thread runs it. libtorch keeps its thread
/// count per thread (OpenMP's and MKL's settings): a thread that had not yet run a parallel op ran the matrix products
/// on every core although <c>set_num_threads(1)</c> had been called on another, and rounded differently. A domain
/// worker's inner loop runs on whichever pool thread its await resumes on, so two identical bus demo runs saved
/// priors that differed in the last bits (README: the result does not depend on timing).
/// </summary>
public sealed class SineRegressorThreadTests
{
    [Fact]
    public void Adapting_on_a_fresh_thread_gives_the_parameters_of_a_one_thread_run()
    {
        var expected = OnNewThread(() =>
        {
            set_num_threads(1);
            return Adapted();
        });
        // A thread libtorch has not seen: nothing here touches its thread settings before the inner loop.
        var actual = OnNewThread(Adapted);

        var differing = expected.Zip(actual).Count(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second));
        Assert.True(differing == 0, $"{differing} of {expected.Length} parameters differ from the one-thread run");
    }

    private static float[] Adapted()
    {
        using var model = new SineRegressor(42, 0.05);
        var (_, x, y) = SineRoundTasks.Sample(42, "domain-000", 0, 10);
        SineDemo.AdaptToTask(model, "domain-000", x, y, 5);
        using var parameters = new ParameterVector(model.Module);
        var values = new float[parameters.Length];
        parameters.CopyTo(values);
        return values;
    }

    private static float[] OnNewThread(Func<float[]> work)
    {
        float[]? result = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException("the work on the new thread failed", failure);
        return result!;
    }
}
