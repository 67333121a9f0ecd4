using Libp2p.Actors.Network;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Interop;

namespace Libp2p.Actors.Tests.Interop;

/// <summary>The Swarm's API against js-libp2p 3: it dials us into a handler we registered, we open a stream to its echo.</summary>
[Trait("Category", "Interop")]
public sealed class SwarmJsInteropTests : SwarmTestKit
{
    [Fact]
    public async Task Js_must_dial_us_into_our_handler_and_we_must_open_a_stream_to_its_echo()
    {
        var us = StartHost();
        SetHandler(us, "/echo/1.0.0", Echo);
        var client = new NetworkClient(us.Swarm, us.Peer);

        // js dials us and echoes 1 MiB through our handler.
        var (exit, output) = await JsPeer.DialAsync($"{us.Addresses[0]}/p2p/{us.Peer}", "yamux", "echo", "--bytes", $"{1024 * 1024}");
        Assert.True(exit == 0, string.Join('\n', output));
        Assert.Contains(output, l => l.StartsWith($"ECHO {1024 * 1024} ok", StringComparison.Ordinal));

        // We dial js through the Swarm and use its echo protocol.
        await using var js = await JsPeer.ListenAsync("yamux");
        var address = Multiaddr.Parse(js.Address);
        var peer = PeerId.Parse(address.PeerIdText!);
        await client.DialPeerAsync(peer, addresses: [address.Decapsulate("p2p")]);
        var stream = await client.NewStreamAsync(peer, ["/echo/1.0.0"]);
        var data = RandomBytes(256 * 1024);
        Assert.Equal(data, await EchoThroughAsync(stream, data));
        Assert.Equal("/echo/1.0.0", stream.Protocol);
        Assert.Equal(Connectedness.Connected, await client.ConnectednessAsync(peer));
        CloseAll(us);
    }

    [Theory]
    [InlineData("yamux")]
    [InlineData("mplex")]
    public async Task Js_must_echo_2000_times_in_a_row_on_one_connection_and_leave_no_stream_behind(string muxer)
    {
        var resources = new Libp2p.Actors.Resources.ResourceManager(Libp2p.Actors.Resources.ResourceLimitDefaults.Scaled());
        var us = StartHost(configure: s => s with { Resources = resources });
        SetHandler(us, "/echo/1.0.0", Echo);

        var (exit, output) = await JsPeer.DialAsync($"{us.Addresses[0]}/p2p/{us.Peer}", muxer, "echo", "--bytes", "16", "--repeat", "2000");

        Assert.True(exit == 0, string.Join('\n', output));
        Assert.Contains(output, l => l.StartsWith("ECHO 16 ok", StringComparison.Ordinal) && l.EndsWith(" x2000", StringComparison.Ordinal));
        CloseAll(us);
        await ScopesAtZeroAsync(resources);
    }
}
