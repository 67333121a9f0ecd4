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
}
