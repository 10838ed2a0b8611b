namespace Meta.Gpu.Tests.Compute;

/// <summary>A fresh seed per test run, or METAGPU_TEST_SEED to replay a failure.</summary>
public static class TestSeed
{
    public static int Next() =>
        int.TryParse(Environment.GetEnvironmentVariable("METAGPU_TEST_SEED"), out var fixedSeed) ? fixedSeed : Random.Shared.Next();
}
