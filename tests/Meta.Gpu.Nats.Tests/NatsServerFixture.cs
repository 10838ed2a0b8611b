namespace Meta.Gpu.Nats.Tests;

/// <summary>One server for a test class (the bus contract suite creates many buses; each gets its own subject
/// prefix). When nats-server is not installed the fixture stays empty and every test skips.</summary>
public sealed class NatsServerFixture : IAsyncLifetime
{
    public NatsServer? Server { get; private set; }

    public string? Missing { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (NatsServer.FindExecutable() is null)
        {
            Missing = "nats-server is not installed (apt-get install nats-server); the NATS tests need a real broker";
            return;
        }
        Server = await NatsServer.StartAsync();
    }

    public NatsServer Require()
    {
        if (Server is null) Assert.Skip(Missing ?? "no nats-server");
        return Server;
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
    }
}
