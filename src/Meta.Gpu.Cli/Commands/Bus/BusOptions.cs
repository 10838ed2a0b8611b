using System.CommandLine;
using Meta.Gpu.Nats;
using Meta.Gpu.Cli.Commands;

namespace Meta.Gpu.Cli.Commands.Bus;

/// <summary>The options every command on a broker shares: <c>--bus nats://HOST:PORT</c>, <c>--prefix</c>,
/// <c>--connect-timeout</c>.</summary>
internal sealed class BusOptions
{
    /// <param name="required">Whether the command needs <c>--bus</c> (<c>demo</c> runs in process without it).</param>
    public BusOptions(bool required = true)
    {
        Url = new("--bus")
        {
            Description = required
                ? "The NATS broker with JetStream, nats://HOST:PORT (start one with 'nats-server -js')."
                : "Run over this NATS broker with JetStream, nats://HOST:PORT, with domain worker processes (default: in process).",
            Required = required,
        };
    }

    public Option<string> Url { get; }

    public Option<string> Prefix { get; } = new("--prefix")
    {
        Description = "Subject prefix; deployments sharing a broker use different ones.",
        DefaultValueFactory = _ => new NatsBusOptions().SubjectPrefix,
    };

    public Option<double> ConnectTimeout { get; } = new("--connect-timeout")
    {
        CustomParser = InvariantNumber.Double,
        Description = "Seconds to wait for the broker before giving up with exit code 2.",
        DefaultValueFactory = _ => 3,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Url);
        command.Options.Add(Prefix);
        command.Options.Add(ConnectTimeout);
    }

    public NatsBusOptions Read(ParseResult result)
    {
        var connectTimeout = OptionSeconds.Parse(result.GetValue(ConnectTimeout), "--connect-timeout");
        var prefix = result.GetValue(Prefix) ?? new NatsBusOptions().SubjectPrefix;
        var url = result.GetValue(Url) ?? "";
        // Checked here too, so that the errors name the flags the user typed, not the options' fields.
        NatsSubjects.ValidateToken(prefix, "--prefix");
        var defaults = new NatsBusOptions();
        NatsSubjects.ValidateStreamNames(prefix, defaults.DurableTopics.Concat(defaults.DenseTopics), "--prefix");
        NatsBusOptions.CheckBrokerAddress(url, "--bus");
        return new NatsBusOptions
        {
            Url = url,
            SubjectPrefix = prefix,
            ConnectTimeout = connectTimeout,
        };
    }
}
