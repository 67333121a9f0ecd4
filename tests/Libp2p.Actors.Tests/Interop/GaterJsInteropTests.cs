using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Interop;

namespace Libp2p.Actors.Tests.Interop;

/// <summary>Our gater refuses js-libp2p 3 at each stage of an inbound connection: js's dial or stream fails, we say why.</summary>
[Trait("Category", "Interop")]
public sealed class GaterJsInteropTests : SwarmTestKit
{
    [Theory]
    [InlineData(GaterHook.InterceptAccept)]
    [InlineData(GaterHook.InterceptSecured)]
    [InlineData(GaterHook.InterceptUpgraded)]
    public async Task Js_dialing_us_must_fail_when_our_gater_refuses_and_we_must_publish_the_hook_and_reason(GaterHook hook)
    {
        var resources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var us = StartHost(configure: s => s with { Resources = resources, Gater = new RefusingGater(hook, $"no js at {hook}") });
        SetHandler(us, "/echo/1.0.0", Echo);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.ConnectionGated));

        var (exit, output) = await JsPeer.DialAsync($"{us.Addresses[0]}/p2p/{us.Peer}", "yamux", "echo", "--bytes", "16");

        Assert.True(exit != 0, string.Join('\n', output));
        Assert.Contains(output, l => l.StartsWith("ERROR ", StringComparison.Ordinal));
        var gated = events.ExpectMsg<SwarmProtocol.ConnectionGated>(Patience);
        Assert.Equal((us.Peer, hook, Direction.Inbound, $"no js at {hook}"), (gated.LocalPeer, gated.Hook, gated.Direction, gated.Reason));
        // Past the handshake we know who it was.
        Assert.Equal(hook != GaterHook.InterceptAccept, gated.Peer is not null);
        CloseAll(us);
        await ScopesAtZeroAsync(resources);
    }
}
