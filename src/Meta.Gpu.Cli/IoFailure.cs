namespace Meta.Gpu.Cli;

/// <summary>What a failed read or write of a file or standard stream says, for a one-line error.</summary>
internal static class IoFailure
{
    /// <summary>The failure's own words on one line. A closed stream or a file that may not be written comes as
    /// UnauthorizedAccessException ("Access to the path is denied.") around the IOException that says what happened
    /// ("Bad file descriptor"): that one is given.</summary>
    public static string Reason(Exception e)
    {
        var reason = e is UnauthorizedAccessException { InnerException: IOException inner } ? inner : e;
        return reason.Message.ReplaceLineEndings(" ").Trim();
    }
}
