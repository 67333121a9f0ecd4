using Libp2p.Actors.Network;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.AutoNat;

/// <summary>The vocabulary of the <see cref="ReachabilityTrackerActor"/>.</summary>
public static class ReachabilityTrackerProtocol
{
    /// <summary>An AutoNAT result to count; E_DIAL_BACK_ERROR results say nothing about reachability and are ignored.</summary>
    public sealed record Record(AutoNatResult Result);

    /// <summary>Asks for the current verdict; answered with <see cref="ReachabilityIs"/>.</summary>
    public sealed record GetReachability
    {
        /// <summary>The message.</summary>
        public static GetReachability Instance { get; } = new();
    }

    /// <summary>The current verdict, and the results it stands on (oldest first: server and whether its dial succeeded).</summary>
    public sealed record ReachabilityIs(Reachability Reachability, IReadOnlyList<(PeerId Server, bool Reachable)> Results);
}

/// <summary>
/// Published on the EventStream when the node's reachability verdict changes (the seed's
/// <c>EvtLocalReachabilityChanged</c>).
/// </summary>
/// <param name="LocalPeer">The node whose verdict changed (several hosts may share an ActorSystem).</param>
/// <param name="Reachability">The new verdict.</param>
public sealed record ReachabilityChanged(PeerId LocalPeer, Reachability Reachability);
