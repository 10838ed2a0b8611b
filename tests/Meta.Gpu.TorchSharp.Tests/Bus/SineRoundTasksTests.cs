using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

public sealed class SineRoundTasksTests
{
    [Fact]
    public void A_domain_round_draws_the_same_task_anywhere_and_other_domains_and_rounds_differ()
    {
        var (task, x, y) = SineRoundTasks.Sample(42, "domain-001", 3, 10);
        var (again, x2, y2) = SineRoundTasks.Sample(42, "domain-001", 3, 10);
        Assert.Equal(task, again);
        Assert.Equal(x, x2);
        Assert.Equal(y, y2);
        Assert.NotEqual(task, SineRoundTasks.Sample(42, "domain-002", 3, 10).Task);
        Assert.NotEqual(task, SineRoundTasks.Sample(42, "domain-001", 4, 10).Task);
        Assert.NotEqual(task, SineRoundTasks.Sample(43, "domain-001", 3, 10).Task);
        Assert.InRange(task.Amplitude, SineTask.AmplitudeMin, SineTask.AmplitudeMax);
        Assert.All(x, v => Assert.InRange(v, (float)SineTask.XMin, (float)SineTask.XMax));
    }
}
