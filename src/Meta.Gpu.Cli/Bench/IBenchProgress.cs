namespace Meta.Gpu.Cli.Bench;

/// <summary>Where the harness reports its progress: a progress bar on a terminal, plain lines otherwise.</summary>
public interface IBenchProgress
{
    /// <summary>A step of the run begins (a case, the bandwidth reference, a peer process).</summary>
    void Starting(string label);

    /// <summary>A row is done (timed or skipped).</summary>
    void Completed(BenchResult result);

    /// <summary>A step that is not a row (the bandwidth reference) is done.</summary>
    void Note(string line);
}
