using Akka.Actor;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Peerstore;

public sealed class PeerstoreActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly ManualClock _clock = new();

    [Fact]
    public async Task A_disconnect_lowers_the_connected_addresses_and_leaves_permanent_ones()
    {
        var store = Sys.ActorOf(PeerstoreActor.Props(_clock));
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var seen = Multiaddr.Parse("/ip4/192.0.2.1/tcp/4001");
        var configured = Multiaddr.Parse("/ip4/192.0.2.2/tcp/4001");
        store.Tell(new PeerstoreProtocol.AddAddresses(peer, [configured], PeerstoreProtocol.Ttl.Permanent));
        store.Tell(new PeerstoreProtocol.AddAddresses(peer, [seen], PeerstoreProtocol.Ttl.Connected));

        store.Tell(new PeerstoreProtocol.UpdateTtl(peer, PeerstoreProtocol.Ttl.Connected, PeerstoreProtocol.Ttl.RecentlyConnected));
        await store.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(peer), Patience); // all applied before time moves
        _clock.Advance(PeerstoreProtocol.Ttl.RecentlyConnected + TimeSpan.FromSeconds(1));

        var left = await store.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(peer), Patience);
        Assert.Equal([configured], left.Addresses);
    }

    [Fact]
    public async Task A_longer_TTL_wins_over_a_shorter_one()
    {
        var store = Sys.ActorOf(PeerstoreActor.Props(_clock));
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var address = Multiaddr.Parse("/ip4/192.0.2.1/tcp/4001");
        store.Tell(new PeerstoreProtocol.AddAddresses(peer, [address], PeerstoreProtocol.Ttl.Provider));
        store.Tell(new PeerstoreProtocol.AddAddresses(peer, [address], PeerstoreProtocol.Ttl.RecentlyConnected));
        await store.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(peer), Patience); // all applied before time moves
        _clock.Advance(PeerstoreProtocol.Ttl.RecentlyConnected + TimeSpan.FromSeconds(1));

        var left = await store.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(peer), Patience);
        Assert.Equal([address], left.Addresses);
    }

    [Fact]
    public async Task A_peer_gone_past_the_grace_period_must_be_forgotten_and_its_record_dropped_when_its_addresses_expire()
    {
        // A node meets peers for weeks, and an attacker can bring a fresh key to every connection:
        // nothing of a peer that left may stay for good.
        var store = Sys.ActorOf(PeerstoreActor.Props(TimeProvider.System, TimeSpan.FromMilliseconds(200)));
        var (peer, key) = NewPeer();
        var address = Multiaddr.Parse("/ip4/192.0.2.1/tcp/4001");
        store.Tell(new PeerstoreProtocol.PeerConnected(peer));
        store.Tell(new PeerstoreProtocol.AddAddresses(peer, [address], TimeSpan.FromSeconds(3)));
        store.Tell(new PeerstoreProtocol.AddPublicKey(peer, key));
        store.Tell(new PeerstoreProtocol.SetProtocols(peer, ["/ipfs/id/1.0.0"]));
        store.Tell(new PeerstoreProtocol.PutMetadata(peer, "AgentVersion", "attacker/1.0"));

        store.Tell(new PeerstoreProtocol.PeerDisconnected(peer));

        await AwaitAssertAsync(async () =>
        {
            Assert.Empty((await store.Ask<PeerstoreProtocol.ProtocolsAre>(new PeerstoreProtocol.GetProtocols(peer), Patience)).Protocols);
            Assert.Null((await store.Ask<PeerstoreProtocol.MetadataIs>(new PeerstoreProtocol.GetMetadata(peer, "AgentVersion"), Patience)).Value);
        }, Patience);
        // Its address keeps its own TTL (a dial may still use it); the record goes with it.
        Assert.Equal([address], (await store.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(peer), Patience)).Addresses);
        await AwaitAssertAsync(async () =>
            Assert.Equal(0, (await store.Ask<PeerstoreProtocol.PeerCountIs>(PeerstoreProtocol.GetPeerCount.Instance, Patience)).Peers), Patience);
    }

    [Fact]
    public async Task A_peer_that_reconnects_within_the_grace_period_must_keep_what_the_store_knows()
    {
        var store = Sys.ActorOf(PeerstoreActor.Props(TimeProvider.System, TimeSpan.FromMilliseconds(200)));
        var (peer, _) = NewPeer();
        store.Tell(new PeerstoreProtocol.SetProtocols(peer, ["/ipfs/id/1.0.0"]));
        store.Tell(new PeerstoreProtocol.PeerDisconnected(peer));
        store.Tell(new PeerstoreProtocol.PeerConnected(peer));

        // Past the grace period and the sweep it had asked for.
        var swept = CreateTestProbe();
        swept.ExpectNoMsg(TimeSpan.FromMilliseconds(600));
        Assert.Equal(["/ipfs/id/1.0.0"], (await store.Ask<PeerstoreProtocol.ProtocolsAre>(new PeerstoreProtocol.GetProtocols(peer), Patience)).Protocols);
    }

    private static (PeerId, PublicKey) NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return (PeerId.FromPublicKey(key.PublicKey), key.PublicKey);
    }
}
