using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Host.Services;

/// <summary>The events of the <see cref="HolePunchActor"/>, published on the EventStream.</summary>
public static class HolePunchProtocol
{
    /// <summary>Event: a relayed connection to <paramref name="Peer"/> was replaced by a direct one, and closed.</summary>
    /// <param name="LocalPeer">The node that punched (the one that received the relayed connection).</param>
    /// <param name="Peer">The peer now directly connected.</param>
    /// <param name="Attempts">The CONNECT/SYNC rounds it took.</param>
    /// <param name="Elapsed">From the relayed connection's arrival to the direct connection being up.</param>
    /// <param name="DirectAddress">The peer's address on the direct connection.</param>
    /// <param name="Rtt">The relayed round-trip time the last round measured.</param>
    public sealed record HolePunchSucceeded(PeerId LocalPeer, PeerId Peer, int Attempts, TimeSpan Elapsed, Multiaddr DirectAddress, TimeSpan Rtt) : SwarmProtocol.NodeEvent(LocalPeer);

    /// <summary>Event: hole punching with <paramref name="Peer"/> gave up; the relayed connection stays.</summary>
    /// <param name="LocalPeer">The node that tried.</param>
    /// <param name="Peer">The peer.</param>
    /// <param name="Attempts">The rounds run.</param>
    /// <param name="Elapsed">From the relayed connection's arrival to giving up.</param>
    /// <param name="Reason">Why.</param>
    public sealed record HolePunchFailed(PeerId LocalPeer, PeerId Peer, int Attempts, TimeSpan Elapsed, string Reason) : SwarmProtocol.NodeEvent(LocalPeer);
}
