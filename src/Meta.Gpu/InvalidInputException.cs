namespace Meta.Gpu;

/// <summary>
/// Bad input from a user or a peer: a malformed payload, an unknown configuration key, a value out of range.
/// The message names the field (or line) and what was wrong; the command line turns it into exit code 2.
/// Throwing it never leaves stored state half-updated: callers validate before they mutate.
/// </summary>
public sealed class InvalidInputException : Exception
{
    public InvalidInputException(string message) : base(message) { }

    public InvalidInputException(string message, Exception inner) : base(message, inner) { }

    public InvalidInputException() { }
}
