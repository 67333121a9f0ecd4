using System.Net.Sockets;
using System.Net.WebSockets;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>Swarms over <c>/ws</c>: dialing and listening, and hostile WebSocket peers that leave no scope behind.</summary>
public sealed class WebSocketSwarmTests : SwarmTestKit
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    [Fact]
    public async Task Two_swarms_must_connect_over_ws_and_echo_with_the_ws_addresses_on_both_ends()
    {
        var server = StartHost("/ip4/127.0.0.1/tcp/0/ws");
        var client = StartHost("");
        SetHandler(server, "/echo/1.0.0", Echo);
        Assert.Matches(@"^/ip4/127\.0\.0\.1/tcp/[1-9][0-9]*/ws$", Assert.Single(server.Addresses).ToString());

        var dialed = DialBothSides(client, server);
        Assert.Equal(server.Addresses[0], dialed.Connection.RemoteAddress);
        Assert.EndsWith("/ws", Assert.Single(Conns(server)).RemoteAddress.ToString(), StringComparison.Ordinal);
        var stream = await OpenAsync(client, server, "/echo/1.0.0");
        var data = RandomBytes(1024 * 1024);
        Assert.Equal(data, await EchoThroughAsync(stream, data));
        CloseAll(client, server);
    }

    [Theory]
    [InlineData("bad-key")]
    [InlineData("text")]
    [InlineData("oversized")]
    [InlineData("unmasked")]
    [InlineData("cut-request")]
    [InlineData("close-frame")]
    public async Task A_hostile_WebSocket_peer_must_be_cut_and_every_scope_must_return_to_zero(string attack)
    {
        var resources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var server = StartHost("/ip4/127.0.0.1/tcp/0/ws", s => s with { Resources = resources });
        var port = int.Parse(server.Addresses[0].ValueFor("tcp")!, System.Globalization.CultureInfo.InvariantCulture);

        if (attack == "close-frame")
        {
            // An upgrade, then a close frame instead of the Noise handshake.
            using var ws = new ClientWebSocket();
            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"), CancellationToken.None).WaitAsync(Patience);
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).WaitAsync(Patience);
        }
        else
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
            var stream = tcp.GetStream();
            var request = $"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {(attack == "bad-key" ? "c2hvcnQ=" : Key)}\r\n\r\n";
            var bytes = System.Text.Encoding.ASCII.GetBytes(request);
            if (attack == "cut-request")
            {
                await stream.WriteAsync(bytes.AsMemory(0, 20));
                tcp.Client.Shutdown(SocketShutdown.Send);
            }
            else
            {
                await stream.WriteAsync(bytes);
                byte[] frame = attack switch
                {
                    "text" => [0x81, 0x82, 1, 2, 3, 4, (byte)('h' ^ 1), (byte)('i' ^ 2)],
                    "oversized" => [0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4],
                    "unmasked" => [0x82, 0x01, 0x00],
                    _ => [],
                };
                await stream.WriteAsync(frame);
            }
            // The server ends the connection: read to its end.
            var buffer = new byte[1024];
            try
            {
                while (await stream.ReadAsync(buffer).AsTask().WaitAsync(Patience) > 0)
                {
                }
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
            }
        }

        await ScopesAtZeroAsync(resources);
        Assert.Empty(Conns(server));
        CloseAll(server);
    }

    [Fact]
    public void The_default_transports_must_include_WebSockets_after_TCP()
    {
        using var key = Libp2p.Protocols.Crypto.PrivateKey.Generate(Libp2p.Protocols.Crypto.KeyType.Ed25519);
        var transports = new Libp2p.Actors.Swarm.SwarmSettings(key).Transports;
        Assert.IsType<WebSocketTransport>(transports[1]);
    }
}
