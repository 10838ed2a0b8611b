namespace Meta.Gpu.Cli.Commands;

/// <summary>The folder an <c>--out</c> option names, created before a command does its work: a path that is a file,
/// or a folder that cannot be made, is a user error then, not an I/O exception after minutes of measuring.</summary>
internal static class OutputFolder
{
    /// <summary>Creates <paramref name="path"/> (and its parents) when missing and checks that files can be written
    /// there, <paramref name="outputs"/> among them (none of them a folder); returns its full path.</summary>
    public static string Prepare(string path, string option, params string[] outputs)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException($"{option}: must name a folder");
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new InvalidInputException($"{option}: {full} is a file, not a folder");
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"{option}: cannot create the folder {full} ({e.Message})", e);
        }
        // Found out here rather than when the results are written, after the whole run.
        foreach (var output in outputs)
            if (Directory.Exists(Path.Combine(full, output)))
                throw new InvalidInputException($"{option}: {Path.Combine(full, output)} is a folder, where the output file {output} goes");
        var probe = Path.Combine(full, $".meta-gpu-write-check-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
            // An output already there must be writable too (opened, not truncated: a failed run keeps the old one).
            foreach (var output in outputs)
            {
                var existing = Path.Combine(full, output);
                if (File.Exists(existing))
                    using (new FileStream(existing, FileMode.Open, FileAccess.Write))
                    {
                    }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"{option}: cannot write files in {full} ({e.Message})", e);
        }
        return full;
    }
}
