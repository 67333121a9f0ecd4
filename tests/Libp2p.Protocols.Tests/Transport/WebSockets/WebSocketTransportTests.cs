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
    public async Task ClientWebSocket_must_exchange_binary_messages_pings_and_the_close_handshake_with_our_listener()
    {
        var bound = await EchoListenerAsync();
        using var client = new ClientWebSocket();
        // Pings every 100 ms that must be answered within 2 s, or the client aborts.
        client.Options.KeepAliveInterval = TimeSpan.FromMilliseconds(100);
        client.Options.KeepAliveTimeout = TimeSpan.FromSeconds(2);
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{bound.Address.ValueFor("tcp")}/"), CancellationToken.None).WaitAsync(Patience);
        Assert.Null(client.HttpResponseHeaders?.GetValueOrDefault("Sec-WebSocket-Extensions"));

        var data = RandomBytes(300_000);
        await client.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).WaitAsync(Patience);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        var pingsAnswered = Task.Delay(TimeSpan.FromSeconds(1));
        while (received.Length < data.Length)
        {
            var result = await client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Patience);
            Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
            received.Write(buffer, 0, result.Count);
        }
        Assert.Equal(data, received.ToArray());
        // Ten unanswered pings would have aborted the client by now.
        await pingsAnswered;
        Assert.Equal(WebSocketState.Open, client.State);

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task Our_dialer_must_talk_to_dotnets_server_WebSocket_and_close_cleanly()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var closedBy = new TaskCompletionSource<WebSocketCloseStatus?>();
        var server = Task.Run(async () =>
        {
            using var tcp = await listener.AcceptTcpClientAsync();
            var stream = tcp.GetStream();
            var head = await ReadHeadAsync(stream);
            var key = head.Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))[18..].Trim();
            var accept = Convert.ToBase64String(SHA1.HashData(System.Text.Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
            // The server side insists on masked frames: an unmasked one fails it.
            using var socket = WebSocket.CreateFromStream(stream, isServer: true, subProtocol: null, Timeout.InfiniteTimeSpan);
            var buffer = new byte[128 * 1024];
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
        await server.WaitAsync(Patience);
        Assert.Equal(data, (await echoed.WaitAsync(Patience)).ToArray());
    }

    private static async Task<string> ReadHeadAsync(Stream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
                throw new EndOfStreamException("the head ended early");
            head.Add(one[0]);
        }
        return System.Text.Encoding.ASCII.GetString(head.ToArray());
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
