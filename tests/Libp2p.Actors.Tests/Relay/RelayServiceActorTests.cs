using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Relay;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Relay;

/// <summary>The relay's books alone: what each circuit counts, and when it stops counting.</summary>
public sealed class RelayServiceActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A hop stream gives its circuit back whatever happened to the request, even when it never
    /// heard whether the books allowed it (their answer came after its deadline): so giving back a
    /// circuit that was refused, or given back already, must count for nothing.
    /// </summary>
    [Fact]
    public async Task Giving_back_a_circuit_that_was_refused_or_given_back_already_must_change_nothing()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var books = Sys.ActorOf(RelayServiceActor.Props(key, RelayServiceSettings.Default));
        var (source, target) = (NewPeer(), NewPeer());

        var refused = await books.Ask(new RelayServiceProtocol.OpenCircuit(1, source, Connection(source), target), Patience);
        Assert.Equal(Libp2p.Protocols.Relay.Pb.Status.NoReservation, Assert.IsType<RelayServiceProtocol.Refused>(refused).Status);
        books.Tell(new RelayServiceProtocol.CircuitClosed(1));
        books.Tell(new RelayServiceProtocol.CircuitClosed(1));

        Assert.Equal(0, (await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience)).Circuits);
    }

    private static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    private ConnectionInfo Connection(PeerId remote)
    {
        var key = PrivateKey.Generate(KeyType.Ed25519);
        var stats = new Stats(Direction.Inbound, DateTimeOffset.UtcNow, false, new Dictionary<string, object>());
        return new ConnectionInfo(new ConnectionId(1), NewPeer(), remote, key.PublicKey, Multiaddr.Parse("/ip4/127.0.0.1/tcp/1"),
            Multiaddr.Parse("/ip4/127.0.0.1/tcp/2"), "/noise", "/yamux/1.0.0", stats, TestActor);
    }
}
