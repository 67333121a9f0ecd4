using System.Net.Sockets;
using System.Net.WebSockets;
using System.Threading.Channels;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Transport.WebSockets;

/// <summary>A peer breaking the WebSocket protocol against our listener: each gets a clear error and a closed connection.</summary>
public sealed class WebSocketAttackTests : ConnectionTestKit
{
    private sealed record Listening(TransportListener Bound, ChannelReader<MuxedConnection> Accepted, int Port);

    private async Task<Listening> ListenAsync(WebSocketSettings? settings = null)
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var transport = new WebSocketTransport(settings: settings);
        var bound = await Upgrader.Listen(Sys, Materializer, transport, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0/ws"),
            new UpgradeSettings(ListenerKey), (connection, _) => accepted.Writer.TryWrite(connection)).WaitAsync(Patience);
        return new Listening(bound, accepted.Reader, int.Parse(bound.Address.ValueFor("tcp")!, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task<NetworkStream> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
        return client.GetStream();
    }

    private async Task<NetworkStream> UpgradedAsync(int port)
    {
        var stream = await ConnectAsync(port);
        await stream.WriteAsync(RawWebSocket.Request());
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", await RawWebSocket.ReadHeadAsync(stream), StringComparison.Ordinal);
        return stream;
    }

    private static async Task AssertClosedAsync(NetworkStream stream)
    {
        var buffer = new byte[256];
        try
        {
            while (await stream.ReadAsync(buffer).AsTask().WaitAsync(Patience) > 0)
            {
            }
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            // A reset is a close too.
        }
    }

    private static async Task<TException> UpgradeFailureAsync<TException>(Listening listening) where TException : Exception
    {
        var connection = await listening.Accepted.ReadAsync().AsTask().WaitAsync(Patience);
        // The handle says the connection failed; the cause is the transport's own error.
        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => connection.Upgraded.WaitAsync(Patience));
        await connection.Completion.ContinueWith(_ => { }).WaitAsync(Patience);
        return Assert.IsType<TException>(error.InnerException);
    }

    [Fact]
    public async Task An_upgrade_with_a_bad_key_must_get_400_with_the_reason_and_a_closed_connection()
    {
        var listening = await ListenAsync();
        using var stream = await ConnectAsync(listening.Port);
        await stream.WriteAsync(RawWebSocket.Request("c2hvcnQ="));

        var head = await RawWebSocket.ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", head, StringComparison.Ordinal);
        await AssertClosedAsync(stream);
        var error = await UpgradeFailureAsync<WebSocketProtocolException>(listening);
        Assert.Equal("websocket: the Sec-WebSocket-Key 'c2hvcnQ=' is not 16 bytes in base64", error.Message);
        await listening.Bound.UnbindAsync();
    }

    [Theory]
    [InlineData("text", 1003, "websocket: a text frame (libp2p sends binary frames only)")]
    [InlineData("oversized", 1009, "websocket: a frame of 1073741824 bytes, over the limit of 4194304")]
    [InlineData("unmasked", 1002, "websocket: the client sent an unmasked frame (RFC 6455 §5.1 requires a mask)")]
    [InlineData("reserved-bit", 1002, "websocket: a frame with reserved bits 0x40 set (no extension was agreed)")]
    [InlineData("continuation", 1002, "websocket: a continuation frame with no message under way")]
    public async Task A_frame_that_breaks_the_protocol_must_be_answered_with_its_close_code_and_fail_the_connection(string kind, ushort code, string message)
    {
        var listening = await ListenAsync();
        using var stream = await UpgradedAsync(listening.Port);
        byte[] frame = kind switch
        {
            "text" => RawWebSocket.Frame(0x81, "hi"u8.ToArray()),
            // Only the header of a 1 GiB frame: it is refused before any payload is awaited.
            "oversized" => [0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4],
            "unmasked" => RawWebSocket.Frame(0x82, [1, 2, 3], mask: false),
            "reserved-bit" => RawWebSocket.Frame(0xC2, [1]),
            _ => RawWebSocket.Frame(0x80, [1]),
        };
        await stream.WriteAsync(frame);

        Assert.Equal(code, await RawWebSocket.ReadCloseAsync(stream));
        await AssertClosedAsync(stream);
        var error = await UpgradeFailureAsync<WebSocketProtocolException>(listening);
        Assert.Equal(message, error.Message);
        await listening.Bound.UnbindAsync();
    }

    [Fact]
    public async Task Our_listener_must_answer_a_ping_with_an_unmasked_pong_of_its_payload()
    {
        var listening = await ListenAsync();
        using var stream = await UpgradedAsync(listening.Port);
        // Control frames may come between the fragments of a message.
        await stream.WriteAsync(RawWebSocket.Frame(0x02, [0x13]));
        await stream.WriteAsync(RawWebSocket.Frame(0x89, "are you there"u8.ToArray()));

        // The Noise handshake's first message comes back first: our listener waits for the dialer's.
        var (opcode, masked, payload) = await RawWebSocket.ReadFrameAsync(stream);
        Assert.Equal((WebSocketOpcode.Pong, false, "are you there"), (opcode, masked, System.Text.Encoding.ASCII.GetString(payload)));
        await listening.Bound.UnbindAsync();
    }

    [Fact]
    public async Task A_connection_closed_in_the_middle_of_the_upgrade_request_must_fail_with_that_reason()
    {
        var listening = await ListenAsync();
        var client = new TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, listening.Port);
        await client.GetStream().WriteAsync("GET / HTTP/1.1\r\nHost: 127."u8.ToArray());
        client.Client.Shutdown(SocketShutdown.Send);

        var error = await UpgradeFailureAsync<WebSocketProtocolException>(listening);
        Assert.Equal("websocket: the remote closed the connection during the upgrade", error.Message);
        client.Dispose();
        await listening.Bound.UnbindAsync();
    }

    [Fact]
    public async Task A_close_frame_in_the_middle_of_the_libp2p_handshake_must_be_answered_and_fail_the_upgrade()
    {
        var listening = await ListenAsync();
        using var client = new ClientWebSocket();
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{listening.Port}/"), CancellationToken.None).WaitAsync(Patience);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "changed my mind", CancellationToken.None).WaitAsync(Patience);

        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        var error = await UpgradeFailureAsync<ConnectionClosedException>(listening);
        Assert.Equal("the remote closed the connection during the upgrade", error.Message);
        await listening.Bound.UnbindAsync();
    }

    [Fact]
    public async Task An_upgrade_that_never_comes_must_time_out_and_close_the_connection()
    {
        var listening = await ListenAsync(WebSocketSettings.Default with { UpgradeTimeout = TimeSpan.FromMilliseconds(200) });
        using var stream = await ConnectAsync(listening.Port);

        var error = await UpgradeFailureAsync<TimeoutException>(listening);
        Assert.Equal("websocket: the upgrade did not finish within 0.2 s", error.Message);
        await AssertClosedAsync(stream);
        await listening.Bound.UnbindAsync();
    }
}
