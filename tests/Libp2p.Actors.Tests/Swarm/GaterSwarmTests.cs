using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>Each gater hook refuses at its stage, on loopback TCP, and each side says why.</summary>
public sealed class GaterSwarmTests : SwarmTestKit
{
    [Theory]
    [InlineData(GaterHook.InterceptPeerDial)]
    [InlineData(GaterHook.InterceptAddrDial)]
    [InlineData(GaterHook.InterceptSecured)]
    [InlineData(GaterHook.InterceptUpgraded)]
    public async Task The_dialers_gater_must_refuse_at_its_hook_with_the_reason_in_the_DialException(GaterHook hook)
    {
        var gater = new RefusingGater(hook);
        var (listener, listenerResources) = Start("/ip4/127.0.0.1/tcp/0", null);
        var (dialer, dialerResources) = Start("", gater);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.ConnectionGated));

        var reply = await dialer.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, listener.Addresses), Patience);

        var failed = Assert.IsType<SwarmProtocol.DialFailed>(reply);
        var error = Assert.IsType<DialException>(failed.Reason);
        // Refused before any address (the peer), or at the one address tried.
        var gated = Assert.IsType<ConnectionGatedException>(hook == GaterHook.InterceptPeerDial ? error.InnerException : Assert.Single(error.Attempts).Error);
        Assert.Equal((hook, gater.Reason), (gated.Hook, gated.Reason));
        Assert.Contains($"gated by {hook}: {gater.Reason}", error.Message, StringComparison.Ordinal);
        var published = events.ExpectMsg<SwarmProtocol.ConnectionGated>(Patience);
        Assert.Equal((dialer.Peer, hook, Direction.Outbound, listener.Peer, gater.Reason), (published.LocalPeer, published.Hook, published.Direction, published.Peer, published.Reason));
        var counts = await new NetworkClient(dialer.Swarm, dialer.Peer).GaterCountsAsync();
        Assert.Equal(new Dictionary<GaterHook, long> { [hook] = 1 }, counts);
        // Our own refusal says nothing of the address: the next dial is not backed off.
        var again = Assert.IsType<SwarmProtocol.DialFailed>(await dialer.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, listener.Addresses), Patience));
        Assert.Contains($"gated by {hook}", again.Reason.Message, StringComparison.Ordinal);
        await AwaitAssertAsync(() => Assert.Empty(Conns(listener)), Patience);
        CloseAll(listener, dialer);
        await ScopesAtZeroAsync(listenerResources);
        await ScopesAtZeroAsync(dialerResources);
    }

    [Theory]
    [InlineData(GaterHook.InterceptAccept)]
    [InlineData(GaterHook.InterceptSecured)]
    [InlineData(GaterHook.InterceptUpgraded)]
    public async Task The_listeners_gater_must_refuse_at_its_hook_log_and_count_it_and_the_dialer_must_see_the_connection_end(GaterHook hook)
    {
        var gater = new RefusingGater(hook);
        var (listener, listenerResources) = Start("/ip4/127.0.0.1/tcp/0", gater);
        var (dialer, dialerResources) = Start("", null);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.ConnectionGated));

        var reply = await dialer.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, listener.Addresses), Patience);

        var published = events.ExpectMsg<SwarmProtocol.ConnectionGated>(Patience);
        Assert.Equal((listener.Peer, hook, Direction.Inbound, gater.Reason), (published.LocalPeer, published.Hook, published.Direction, published.Reason));
        // The peer is known once the remote is authenticated, not on accept.
        Assert.Equal(hook == GaterHook.InterceptAccept ? null : dialer.Peer, published.Peer);
        Assert.Equal(new Dictionary<GaterHook, long> { [hook] = 1 }, await new NetworkClient(listener.Swarm, listener.Peer).GaterCountsAsync());
        // Nothing on the wire says why (as in go-libp2p): the dialer sees its connection end during
        // the upgrade, or, refused after the upgrade, ends soon after it came up.
        if (reply is SwarmProtocol.DialFailed failed)
            Assert.IsType<DialException>(failed.Reason);
        else
            await AwaitAssertAsync(() => Assert.Empty(Conns(dialer)), Patience);
        Assert.Empty(Conns(listener));
        CloseAll(listener, dialer);
        await ScopesAtZeroAsync(listenerResources);
        await ScopesAtZeroAsync(dialerResources);
    }

    [Fact]
    public async Task The_configured_gater_must_deny_listed_peers_and_networks_and_allow_only_allow_lists()
    {
        var peer = PeerId.FromPublicKey(Libp2p.Protocols.Crypto.PrivateKey.Generate(Libp2p.Protocols.Crypto.KeyType.Ed25519).PublicKey);
        var other = PeerId.FromPublicKey(Libp2p.Protocols.Crypto.PrivateKey.Generate(Libp2p.Protocols.Crypto.KeyType.Ed25519).PublicKey);
        var deny = new ConfiguredConnectionGater(denyPeers: [peer], denyAddresses: [Multiaddr.Parse("/ip4/10.0.0.0/ipcidr/8"), Multiaddr.Parse("/ip6/::1")]);
        var local = Multiaddr.Parse("/ip4/127.0.0.1/tcp/1");

        Assert.Equal($"peer {peer} is in gater.deny-peers", deny.InterceptPeerDial(peer).Refusal);
        Assert.True(deny.InterceptPeerDial(other).Allowed);
        Assert.Equal("/ip4/10.1.2.3/tcp/4001 is in /ip4/10.0.0.0/ipcidr/8 of gater.deny-addresses", deny.InterceptAddrDial(other, Multiaddr.Parse("/ip4/10.1.2.3/tcp/4001")).Refusal);
        Assert.Equal("/ip6/::1/tcp/5 is in /ip6/::1 of gater.deny-addresses", deny.InterceptAccept(local, Multiaddr.Parse("/ip6/::1/tcp/5")).Refusal);
        Assert.True(deny.InterceptAccept(local, Multiaddr.Parse("/ip4/11.0.0.1/tcp/5")).Allowed);
        Assert.Equal($"peer {peer} is in gater.deny-peers", deny.InterceptSecured(Direction.Inbound, peer, local, local).Refusal);

        var allow = new ConfiguredConnectionGater(allowPeers: [peer], allowAddresses: [Multiaddr.Parse("/ip4/192.168.0.0/ipcidr/16")], denyAddresses: [Multiaddr.Parse("/ip4/192.168.1.0/ipcidr/24")]);
        Assert.Equal($"peer {other} is not in gater.allow-peers", allow.InterceptPeerDial(other).Refusal);
        Assert.True(allow.InterceptPeerDial(peer).Allowed);
        Assert.True(allow.InterceptAddrDial(peer, Multiaddr.Parse("/ip4/192.168.7.1/tcp/1")).Allowed);
        Assert.Equal("/ip4/192.168.1.9/tcp/1 is in /ip4/192.168.1.0/ipcidr/24 of gater.deny-addresses", allow.InterceptAddrDial(peer, Multiaddr.Parse("/ip4/192.168.1.9/tcp/1")).Refusal);
        Assert.Equal("/ip4/8.8.8.8/tcp/1 is in no network of gater.allow-addresses", allow.InterceptAccept(local, Multiaddr.Parse("/ip4/8.8.8.8/tcp/1")).Refusal);
        Assert.Throws<FormatException>(() => new ConfiguredConnectionGater(denyAddresses: [Multiaddr.Parse("/dns4/example.com")]));

        // And in a Swarm: a listener that denies loopback refuses on accept.
        var (listener, listenerResources) = Start("/ip4/127.0.0.1/tcp/0", new ConfiguredConnectionGater(denyAddresses: [Multiaddr.Parse("/ip4/127.0.0.0/ipcidr/8")]));
        var (dialer, dialerResources) = Start("", null);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.ConnectionGated));
        await dialer.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, listener.Addresses), Patience);
        var gated = events.ExpectMsg<SwarmProtocol.ConnectionGated>(Patience);
        Assert.Equal(GaterHook.InterceptAccept, gated.Hook);
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", gated.Reason, StringComparison.Ordinal);
        Assert.EndsWith(" is in /ip4/127.0.0.0/ipcidr/8 of gater.deny-addresses", gated.Reason, StringComparison.Ordinal);
        CloseAll(listener, dialer);
        await ScopesAtZeroAsync(listenerResources);
        await ScopesAtZeroAsync(dialerResources);
    }

    private (Host Host, ResourceManager Resources) Start(string listen, IConnectionGater? gater)
    {
        ResourceManager? resources = null;
        var host = StartHost(listen, s =>
        {
            resources = s.Resources;
            return s with { Gater = gater };
        });
        return (host, resources!);
    }
}
