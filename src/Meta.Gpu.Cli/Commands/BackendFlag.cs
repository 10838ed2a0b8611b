namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// A backend named by <c>--backend</c>: the library's errors name its field, <c>backend:</c>; on the command line
/// they name the flag the user typed.
/// </summary>
internal static class BackendFlag
{
    public const string Name = "--backend";

    /// <summary>Runs <paramref name="create"/>; an error about the backend's name or start names the flag.</summary>
    public static T Create<T>(Func<T> create)
    {
        try
        {
            return create();
        }
        catch (InvalidInputException e) when (e.Message.StartsWith("backend: ", StringComparison.Ordinal))
        {
            throw new InvalidInputException(Name + e.Message["backend".Length..], e);
        }
    }
}
