using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Transport.WebSockets;

public sealed class WebSocketTransportTests : ConnectionTestKit
{
    private static readonly WebSocketTransport Transport = WebSocketTransport.Instance;

    /// <summary>Our listener with every inbound connection's bytes echoed straight back above the WebSocket layer.</summary>
    private async Task<TransportListener> EchoListenerAsync(WebSocketTransport? transport = null, string address = "/ip4/127.0.0.1/tcp/0/ws") =>
        await (transport ?? Transport).Listen(Sys, Multiaddr.Parse(address))
            .To(Sink.ForEach<InboundConnection>(c => c.Flow.Join(Flow.Create<ByteString>()).Run(Materializer)))
            .Run(Materializer).WaitAsync(Patience);

    [Theory]
    [InlineData("/ip4/1.2.3.4/tcp/80/ws", "/ip4/1.2.3.4/tcp/80", "/ws", false, null, "1.2.3.4:80", "/")]
    [InlineData("/ip6/::1/tcp/4001/ws/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", "/ip6/::1/tcp/4001", "/ws", false, null, "[::1]:4001", "/")]
    [InlineData("/dns4/example.com/tcp/443/wss", "/dns4/example.com/tcp/443", "/wss", true, "example.com", "example.com:443", "/")]
    [InlineData("/ip4/1.2.3.4/tcp/443/tls/sni/example.com/ws", "/ip4/1.2.3.4/tcp/443", "/tls/sni/example.com/ws", true, "example.com", "example.com:443", "/")]
    [InlineData("/ip4/192.0.2.0/ws", "/ip4/192.0.2.0/tcp/80", "/ws", false, null, "192.0.2.0:80", "/")]
    [InlineData("/ip4/192.0.2.0/tls/ws", "/ip4/192.0.2.0/tcp/443", "/tls/ws", true, null, "192.0.2.0:443", "/")]
    [InlineData("/dns/example.com/wss/http-path/path%2Fto%2Fendpoint", "/dns/example.com/tcp/443", "/wss/http-path/path%2Fto%2Fendpoint", true, "example.com", "example.com:443", "/path/to/endpoint")]
    public void A_WebSocket_address_must_come_apart_as_the_spec_says(string text, string tcp, string suffix, bool secure, string? serverName, string host, string path)
    {
        Assert.True(WebSocketAddress.TryParse(Multiaddr.Parse(text), out var address));
        Assert.Equal(new WebSocketAddress(Multiaddr.Parse(tcp), Multiaddr.Parse(suffix), secure, serverName, host, path), address);
    }

    [Theory]
    [InlineData("/ip4/1.2.3.4/tcp/80")]
    [InlineData("/ip4/1.2.3.4/tcp/80/ws/ws")]
    [InlineData("/ip4/1.2.3.4/tcp/80/tls")]
    [InlineData("/ip4/1.2.3.4/udp/80/ws")]
    [InlineData("/memory/5/ws")]
    public void An_address_that_is_no_WebSocket_must_not_parse_as_one(string text) =>
        Assert.False(WebSocketAddress.TryParse(Multiaddr.Parse(text), out _));

    [Fact]
    public void The_transport_must_listen_on_wss_only_with_a_certificate()
    {
        Assert.True(Transport.CanListen(Multiaddr.Parse("/ip4/0.0.0.0/tcp/4001/ws")));
        Assert.False(Transport.CanListen(Multiaddr.Parse("/ip4/0.0.0.0/tcp/4001/wss")));
        Assert.False(Transport.CanListen(Multiaddr.Parse("/ip4/0.0.0.0/tcp/4001")));
        Assert.True(Transport.CanDial(Multiaddr.Parse("/dns4/example.com/tcp/443/wss")));
        var error = Assert.Throws<TransportException>(() => Transport.Listen(Sys, Multiaddr.Parse("/ip4/0.0.0.0/tcp/4001/tls/ws")));
        Assert.Equal("ws: cannot listen on /ip4/0.0.0.0/tcp/4001/tls/ws: a secure WebSocket needs a server certificate (akka.libp2p.websocket.tls.certificate)", error.Message);
    }

    [Fact]
    public async Task A_listener_must_report_its_bound_address_with_ws()
    {
        var bound = await EchoListenerAsync(address: "/ip4/0.0.0.0/tcp/0/ws");
        Assert.Matches(@"^/ip4/0\.0\.0\.0/tcp/[1-9][0-9]*/ws$", bound.Address.ToString());
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task ClientWebSocket_must_exchange_binary_messages_and_the_close_handshake_with_our_listener_which_declines_deflate()
    {
        var bound = await EchoListenerAsync();
        using var client = new ClientWebSocket();
        // Offered, and declined: libp2p's Noise frames do not compress.
        client.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{bound.Address.ValueFor("tcp")}/"), CancellationToken.None).WaitAsync(Patience);
        Assert.Null(client.HttpResponseHeaders?.GetValueOrDefault("Sec-WebSocket-Extensions"));

        var data = RandomBytes(300_000);
        await client.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).WaitAsync(Patience);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (received.Length < data.Length)
        {
            var result = await client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Patience);
            Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
            received.Write(buffer, 0, result.Count);
        }
        Assert.Equal(data, received.ToArray());

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        await bound.UnbindAsync();
    }

    /// <summary>
    /// .NET's server <see cref="WebSocket"/> on a loopback port, the upgrade answered by hand.
    /// </summary>
    private static (int Port, Task Served) DotnetServer(Func<WebSocket, Task> serve) =>
        RawServer(async stream =>
        {
            // The server side insists on masked frames: an unmasked one fails it.
            using var socket = WebSocket.CreateFromStream(stream, isServer: true, subProtocol: null, Timeout.InfiniteTimeSpan);
            await serve(socket);
        });

    /// <summary>A loopback server that answers the upgrade by hand, then hands the stream to <paramref name="serve"/>.</summary>
    private static (int Port, Task Served) RawServer(Func<Stream, Task> serve)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var served = Task.Run(async () =>
        {
            using var tcp = await listener.AcceptTcpClientAsync();
            listener.Stop();
            var stream = tcp.GetStream();
            var head = await RawWebSocket.ReadHeadAsync(stream);
            var key = head.Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))[18..].Trim();
            var accept = Convert.ToBase64String(SHA1.HashData(System.Text.Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
            await serve(stream);
        });
        return (port, served);
    }

    [Fact]
    public async Task Our_dialer_must_take_fragments_and_close_cleanly_with_dotnets_server_WebSocket()
    {
        var closedBy = new TaskCompletionSource<WebSocketCloseStatus?>();
        var (port, served) = DotnetServer(async socket =>
        {
            // A buffer smaller than our 100,000-byte messages: each is echoed in fragments (continuation frames).
            var buffer = new byte[10_000];
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    closedBy.TrySetResult(result.CloseStatus);
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    return;
                }
                await socket.SendAsync(buffer.AsMemory(0, result.Count), WebSocketMessageType.Binary, result.EndOfMessage, CancellationToken.None);
            }
        });

        var data = RandomBytes(1024 * 1024);
        var (writer, echoed) = Source.Queue<ByteString>(16, Akka.Streams.OverflowStrategy.Backpressure)
            .Via(Transport.Dial(Sys, Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}/ws"), Patience))
            .ToMaterialized(Sink.Aggregate<ByteString, MemoryStream>(new MemoryStream(), (ms, b) =>
            {
                ms.Write(b.ToReadOnlySpan());
                return ms;
            }), Keep.Both).Run(Materializer);
        foreach (var chunk in Chunks(data, 100_000))
            await writer.OfferAsync(chunk);
        // Our close goes after the data: the server echoes all of it before it reads the close, and
        // we read until its close comes back.
        writer.Complete();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await closedBy.Task.WaitAsync(Patience));
        await served.WaitAsync(Patience);
        Assert.Equal(data, (await echoed.WaitAsync(Patience)).ToArray());
    }

    [Fact]
    public async Task A_server_closing_with_an_error_status_must_fail_our_flow_with_it()
    {
        var (port, served) = DotnetServer(socket => socket.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, "overloaded", CancellationToken.None));

        var received = Source.Never<ByteString>()
            .Via(Transport.Dial(Sys, Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}/ws"), Patience))
            .RunWith(Sink.Ignore<ByteString>(), Materializer);

        var error = await Assert.ThrowsAsync<WebSocketProtocolException>(() => received.WaitAsync(Patience));
        Assert.Equal("websocket: the remote closed the connection with status 1011: overloaded", error.Message);
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task Our_dialer_must_answer_a_ping_with_a_masked_pong_of_its_payload()
    {
        var pong = new TaskCompletionSource<(WebSocketOpcode, bool, byte[])>();
        var (port, served) = RawServer(async stream =>
        {
            await stream.WriteAsync(RawWebSocket.Frame(0x89, "ping 1"u8.ToArray(), mask: false));
            pong.TrySetResult(await RawWebSocket.ReadFrameAsync(stream));
        });
        var kill = Source.Never<ByteString>().ViaMaterialized(Akka.Streams.KillSwitches.Single<ByteString>(), Keep.Right)
            .Via(Transport.Dial(Sys, Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}/ws"), Patience))
            .To(Sink.Ignore<ByteString>()).Run(Materializer);

        var (opcode, masked, payload) = await pong.Task.WaitAsync(Patience);
        Assert.Equal((WebSocketOpcode.Pong, true, "ping 1"), (opcode, masked, System.Text.Encoding.ASCII.GetString(payload)));
        await served.WaitAsync(Patience);
        kill.Shutdown();
    }

    [Theory]
    [InlineData("yamux")]
    [InlineData("mplex")]
    public async Task Ours_must_upgrade_with_noise_and_a_muxer_over_ws_and_echo(string muxer)
    {
        var factory = muxer == "yamux" ? MuxerFactory.Yamux : MuxerFactory.Mplex;
        var pair = await ConnectAsync(Transport, "/ip4/127.0.0.1/tcp/0/ws", [factory]);
        Assert.Equal(factory.Protocol, (await pair.Dialer.Upgraded).Muxer);
        ServeEcho(pair.Listener);
        var data = RandomBytes(4 * 1024 * 1024);
        Assert.Equal(data, await EchoAsync(pair.Dialer, data));
        pair.Dialer.Close();
        await pair.Listener.Completion.WaitAsync(Patience);
        await pair.Bound.UnbindAsync();
    }
}
