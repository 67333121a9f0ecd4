using System.Security.Cryptography;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Interop;

/// <summary>Noise with yamux and with mplex, over TCP and over WebSockets, against js-libp2p 3, both ways: we dial it, it dials us.</summary>
[Trait("Category", "Interop")]
public sealed class JsInteropTests : ConnectionTestKit
{
    private const string Ping = "/ipfs/ping/1.0.0";
    private const string Echo = "/echo/1.0.0";

    public static TheoryData<string, string> Cells => new()
    {
        { "tcp", "yamux" }, { "tcp", "mplex" }, { "ws", "yamux" }, { "ws", "mplex" },
    };

    private static ITransport Transport(string transport) => transport == "ws" ? WebSocketTransport.Instance : TcpTransport.Instance;

    private static IReadOnlyList<MuxerFactory> Only(string muxer) => muxer == "yamux" ? [MuxerFactory.Yamux] : [MuxerFactory.Mplex];

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task We_must_dial_js_and_ping_and_echo(string transport, string muxer)
    {
        await using var js = await JsPeer.ListenAsync(muxer, transport);
        var address = Multiaddr.Parse(js.Address);
        var expected = PeerId.Parse(address.PeerIdText!);

        Assert.Equal(transport == "ws", address.Has("ws"));
        var dial = Upgrader.Dial(Sys, Materializer, Transport(transport), address.Decapsulate("p2p"), new UpgradeSettings(DialerKey, Only(muxer)), expected);
        var upgrade = await dial.Connection.Upgraded.WaitAsync(Patience);
        Assert.Equal(expected, upgrade.RemotePeer);
        Assert.Equal(muxer == "yamux" ? "/yamux/1.0.0" : "/mplex/6.7.0", upgrade.Muxer);

        // Ping: 32 random bytes come back unchanged, three times on one stream.
        await using (var ping = (await dial.Connection.OpenStreamAsync().WaitAsync(Patience)).AsStream())
        {
            Assert.Equal(Ping, await MultistreamSelect.SelectOneOfAsync(ping, [Ping]).WaitAsync(Patience));
            for (var i = 0; i < 3; i++)
            {
                var payload = RandomNumberGenerator.GetBytes(32);
                await ping.WriteAsync(payload);
                var pong = new byte[32];
                await ping.ReadExactlyAsync(pong).AsTask().WaitAsync(Patience);
                Assert.Equal(payload, pong);
            }
        }

        // Echo: 1 MiB on a stream to the js echo protocol.
        var data = RandomBytes(1024 * 1024);
        await using var echo = (await dial.Connection.OpenStreamAsync().WaitAsync(Patience)).AsStream();
        Assert.Equal(Echo, await MultistreamSelect.SelectOneOfAsync(echo, [Echo]).WaitAsync(Patience));
        var reading = ReadToEndAsync(echo);
        await echo.WriteAsync(data);
        echo.CloseWrite();
        var echoed = await reading.WaitAsync(Patience);
        Assert.True(data.SequenceEqual(echoed), "the echo from js differs");
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task Js_must_dial_us_and_ping_and_echo(string transport, string muxer)
    {
        var bound = await Upgrader.Listen(Sys, Materializer, Transport(transport), Multiaddr.Parse(transport == "ws" ? "/ip4/127.0.0.1/tcp/0/ws" : "/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey, Only(muxer)), (connection, _) => Serve(connection)).WaitAsync(Patience);
        var address = $"{bound.Address}/p2p/{PeerId.FromPublicKey(ListenerKey.PublicKey)}";

        var (pingExit, pingOutput) = await JsPeer.DialAsync(address, muxer, "ping", "--count", "3");
        Assert.True(pingExit == 0, string.Join('\n', pingOutput));
        Assert.Equal(3, pingOutput.Count(l => l.StartsWith("PING ", StringComparison.Ordinal)));

        var (echoExit, echoOutput) = await JsPeer.DialAsync(address, muxer, "echo", "--bytes", $"{1024 * 1024}");
        Assert.True(echoExit == 0, string.Join('\n', echoOutput));
        Assert.Contains(echoOutput, l => l.StartsWith($"ECHO {1024 * 1024} ok", StringComparison.Ordinal));
    }

    /// <summary>Answers /ipfs/ping/1.0.0 and /echo/1.0.0: both send back what they read.</summary>
    private void Serve(MuxedConnection connection) => _ = Task.Run(async () =>
    {
        await foreach (var stream in connection.InboundStreams.ReadAllAsync())
        {
            _ = Task.Run(async () =>
            {
                await using var io = stream.AsStream();
                try
                {
                    await MultistreamSelect.HandleAsync(io, [Ping, Echo]);
                    await io.CopyToAsync(io, 64 * 1024);
                }
                catch (Exception e) when (e is IOException or MultistreamException or EndOfStreamException)
                {
                    stream.Reset();
                }
            });
        }
    });

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        return all.ToArray();
    }
}
