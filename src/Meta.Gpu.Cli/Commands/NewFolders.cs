namespace Meta.Gpu.Cli.Commands;

/// <summary>Folders a command is about to make for a path (its `--storage`, its `--out`), so that a run refused before
/// it did anything (a broker out of reach) can take them away again instead of leaving them behind.</summary>
internal static class NewFolders
{
    /// <summary>The outermost folder of <paramref name="path"/> that does not exist yet (removing it removes every
    /// folder made for the path), or null when the path exists.</summary>
    public static string? Outermost(string path)
    {
        string? missing = null;
        for (var folder = Path.GetFullPath(path); folder is not null && !Directory.Exists(folder); folder = Path.GetDirectoryName(folder))
            missing = folder;
        return missing;
    }
}
