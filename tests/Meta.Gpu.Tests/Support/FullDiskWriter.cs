namespace Meta.Gpu.Tests.Support;

/// <summary>A policy log on a full disk: its writes throw while <see cref="Full"/> is set.</summary>
internal sealed class FullDiskWriter : StringWriter
{
    public bool Full { get; set; } = true;

    public override void WriteLine(string? value)
    {
        if (Full) throw new IOException("no space left on device");
        base.WriteLine(value);
    }
}
