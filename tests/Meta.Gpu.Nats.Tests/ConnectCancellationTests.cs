using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A cancelled <see cref="NatsEventBus.ConnectAsync"/> must not leave a connection behind that nobody can
/// close (it reconnects forever: MaxReconnectRetry = -1).</summary>
public sealed class ConnectCancellationTests
{
    [Fact]
    public async Task A_cancelled_connect_leaves_no_connection_behind()
    {
        // A broker that answers slowly: it accepts, and sends its INFO only after 1.5 s.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var sawConnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var broker = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            await Task.Delay(1500);
            var info = "INFO {\"server_id\":\"slow\",\"version\":\"2.9.0\",\"proto\":1,\"max_payload\":1048576,\"headers\":true}\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(info));
            var buffer = new byte[4096];
            var seen = new StringBuilder();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (!stop.IsCancellationRequested)
            {
                var n = await stream.ReadAsync(buffer, stop.Token);
                if (n == 0) break;
                seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
                if (seen.ToString().Contains("CONNECT", StringComparison.Ordinal)) sawConnect.TrySetResult();
                if (seen.ToString().Contains("PING", StringComparison.Ordinal)) await stream.WriteAsync(Encoding.ASCII.GetBytes("PONG\r\n"), stop.Token);
            }
        });

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var options = new NatsBusOptions { Url = $"nats://127.0.0.1:{port}", ConnectTimeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NatsEventBus.ConnectAsync(options, cancellationToken: cancel.Token));

        // The caller was told the connect was cancelled and holds nothing to dispose; the connection must be gone.
        var connected = await Task.WhenAny(sawConnect.Task, Task.Delay(TimeSpan.FromSeconds(5))) == sawConnect.Task;
        Assert.False(connected, "after ConnectAsync was cancelled, its connection went on and completed the handshake (CONNECT) with the broker; nobody can dispose it");
        _ = broker;
    }
}
