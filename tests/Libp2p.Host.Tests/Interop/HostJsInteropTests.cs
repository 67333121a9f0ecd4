using System.Security.Cryptography;
using System.Text.Json;
using Libp2p.Host.Services;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Interop;

namespace Libp2p.Host.Tests.Interop;

/// <summary>
/// The host's standard protocols against js-libp2p 3, both directions, over TCP and WebSockets:
/// identify (each side sees the other's protocols and listen addresses), ping, echo of 1 MiB and
/// perf of 64 MiB each way. The host offers its defaults (Noise, then TLS); js speaks the one
/// security protocol of the cell. WebSockets with TLS is run with yamux only (mplex over TLS and
/// over WebSockets each has its cell, and the protocol-level interop tests run every combination).
/// </summary>
[Trait("Category", "Interop")]
public sealed class HostJsInteropTests : HostTestKit
{
    private const int EchoBytes = 1024 * 1024;
    private const long PerfBytes = 64L * 1024 * 1024;

    [Theory]
    [InlineData("tcp", "yamux", "noise")]
    [InlineData("tcp", "mplex", "noise")]
    [InlineData("tcp", "yamux", "tls")]
    [InlineData("tcp", "mplex", "tls")]
    [InlineData("ws", "yamux", "noise")]
    [InlineData("ws", "mplex", "noise")]
    [InlineData("ws", "yamux", "tls")]
    public async Task Js_dials_us_identifies_pings_echoes_and_runs_perf(string transport, string muxer, string security)
    {
        var us = await StartAsync(s => transport == "ws" ? s with { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0/ws")] } : s);
        var address = (await AddressOfAsync(us)).ToString();
        Assert.Equal(transport == "ws", address.Contains("/ws/p2p/", StringComparison.Ordinal));
        var identified = CreateTestProbe();
        Sys.EventStream.Subscribe(identified.Ref, typeof(IdentifyService.PeerIdentified));

        var identify = await DialFromJsAsync(address, muxer, "identify", "--security", security);
        using var json = JsonDocument.Parse(identify["IDENTIFY ".Length..]);
        var protocols = json.RootElement.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()).ToArray();
        Assert.Contains(PingService.ProtocolId, protocols);
        Assert.Contains(EchoService.ProtocolId, protocols);
        Assert.Contains(PerfService.ProtocolId, protocols);
        Assert.Contains(IdentifyService.PushProtocolId, protocols);
        var listen = json.RootElement.GetProperty("listenAddrs").EnumerateArray().Select(a => Multiaddr.Parse(a.GetString()!)).ToArray();
        Assert.Contains((await us.Network.ListenAddressesAsync())[0], listen);
        Assert.StartsWith("libp2p-dotnet/", json.RootElement.GetProperty("agentVersion").GetString(), StringComparison.Ordinal);

        Assert.StartsWith("PING ", await DialFromJsAsync(address, muxer, "ping", "--count", "3", "--security", security), StringComparison.Ordinal);
        Assert.StartsWith($"ECHO {EchoBytes} ok", await DialFromJsAsync(address, muxer, "echo", "--bytes", $"{EchoBytes}", "--security", security), StringComparison.Ordinal);
        Assert.StartsWith($"PERF upload {PerfBytes} ", await DialFromJsAsync(address, muxer, "perf", "--upload", $"{PerfBytes}", "--download", $"{PerfBytes}", "--security", security), StringComparison.Ordinal);
        // And we identified js in turn on one of its connections. Not necessarily the first: js's
        // identify run exits once it has identified us, which may be before it answered us (seen
        // over TLS on a loaded machine); the perf run's connection lives long enough.
        var jsSide = identified.FishForMessage<IdentifyService.PeerIdentified>(e => e.LocalPeer == us.PeerId, Patience);
        Assert.Contains(PingService.ProtocolId, jsSide.Result.Protocols);
        Assert.StartsWith("js-libp2p/", jsSide.Result.AgentVersion, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tcp", "yamux", "noise")]
    [InlineData("tcp", "mplex", "noise")]
    [InlineData("tcp", "yamux", "tls")]
    [InlineData("tcp", "mplex", "tls")]
    [InlineData("ws", "yamux", "noise")]
    [InlineData("ws", "mplex", "noise")]
    [InlineData("ws", "yamux", "tls")]
    public async Task We_dial_js_identify_ping_echo_and_run_perf(string transportName, string muxer, string security)
    {
        var us = await StartAsync();
        await using var js = await JsPeer.ListenAsync(muxer, transportName, security);
        var jsAddress = Multiaddr.Parse(js.Address);
        var (peer, transport) = Libp2pHost.Split(jsAddress);
        Assert.Equal(transportName == "ws", transport.Has("ws"));
        var connection = await us.ConnectAsync(jsAddress).WaitAsync(Patience);
        Assert.Equal(transport, connection.RemoteAddress);

        var identify = await us.IdentifyAsync(peer).WaitAsync(Patience);
        Assert.Contains(PingService.ProtocolId, identify.Protocols);
        Assert.Contains(EchoService.ProtocolId, identify.Protocols);
        Assert.Contains(transport, identify.ListenAddresses);
        Assert.StartsWith("js-libp2p/", identify.AgentVersion, StringComparison.Ordinal);
        Assert.Equal(peer, identify.Peer);
        Assert.True(identify.Certified, "js-libp2p sends a signed peer record, which must verify");

        var times = await us.PingAsync(peer, 3).WaitAsync(Patience);
        Assert.Equal(3, times.Count);

        await us.EchoAsync(peer, RandomNumberGenerator.GetBytes(EchoBytes)).WaitAsync(Patience);

        var perf = await us.PerfAsync(peer, PerfBytes, PerfBytes).WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(PerfBytes, perf.Uploaded);
        Assert.Equal(PerfBytes, perf.Downloaded);
    }

    [Fact]
    public async Task Identify_push_works_both_ways_with_js()
    {
        var us = await StartAsync();
        var identified = CreateTestProbe();
        Sys.EventStream.Subscribe(identified.Ref, typeof(IdentifyService.PeerIdentified));

        // js connects, then serves /js-push/1.0.0: its push must reach us...
        var js = DialFromJsAsync((await AddressOfAsync(us)).ToString(), "yamux", "push");
        var jsPush = identified.FishForMessage<IdentifyService.PeerIdentified>(
            e => e.LocalPeer == us.PeerId && e.Push && e.Result.Protocols.Contains("/js-push/1.0.0"), Patience);

        // ...and ours, when we serve /dotnet-push/1.0.0, must reach js, which then exits.
        await us.Network.SetStreamHandlerAsync("/dotnet-push/1.0.0", _ => Task.CompletedTask);
        var line = await js.WaitAsync(Patience);
        using var json = JsonDocument.Parse(line["PUSH ".Length..]);
        Assert.Equal(us.PeerId.ToString(), json.RootElement.GetProperty("peerId").GetString());
        Assert.Contains("/dotnet-push/1.0.0", json.RootElement.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
        Assert.Contains(PingService.ProtocolId, jsPush.Result.Protocols);
    }

    private static async Task<string> DialFromJsAsync(string address, string muxer, params string[] action)
    {
        var (exit, output) = await JsPeer.DialAsync(address, muxer, action);
        Assert.True(exit == 0, string.Join('\n', output));
        var prefix = action[0].ToUpperInvariant() + " ";
        return output.Last(l => l.StartsWith(prefix, StringComparison.Ordinal));
    }
}
