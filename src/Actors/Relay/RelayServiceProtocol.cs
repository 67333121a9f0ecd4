using Libp2p.Actors.Network;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay.Pb;

namespace Libp2p.Actors.Relay;

/// <summary>The vocabulary of the <see cref="RelayServiceActor"/>: what the hop protocol asks of the relay's books.</summary>
public static class RelayServiceProtocol
{
    /// <summary>A peer asks for a reservation over <paramref name="Connection"/>; answered with <see cref="Reserved"/> or <see cref="Refused"/>.</summary>
    public sealed record Reserve(PeerId Peer, ConnectionInfo Connection);

    /// <summary>The reservation is made (or renewed) until <paramref name="Expiration"/>; <paramref name="Voucher"/> is the signed envelope that says so.</summary>
    public sealed record Reserved(DateTimeOffset Expiration, byte[] Voucher);

    /// <summary>
    /// <paramref name="Source"/> asks, over <paramref name="SourceConnection"/>, for a circuit to
    /// <paramref name="Target"/>; answered with <see cref="CircuitAllowed"/> or <see cref="Refused"/>.
    /// An allowed circuit counts until <see cref="CircuitClosed"/> with the same <paramref name="Id"/>
    /// (the asker's, unique among its circuits).
    /// </summary>
    public sealed record OpenCircuit(long Id, PeerId Source, ConnectionInfo SourceConnection, PeerId Target);

    /// <summary>The circuit may be opened; it is counted against both peers.</summary>
    public sealed record CircuitAllowed(PeerId Source, PeerId Target);

    /// <summary>
    /// The circuit <paramref name="Id"/> ended, or never got going: it counts no more. Told whatever
    /// the answer was, or when none came in time; one that was refused or already closed changes nothing.
    /// </summary>
    public sealed record CircuitClosed(long Id);

    /// <summary>No: <paramref name="Status"/> is the spec's code to answer, <paramref name="Reason"/> says why for people.</summary>
    public sealed record Refused(Status Status, string Reason);

    /// <summary>Asks for the reservations and circuits; answered with <see cref="StateIs"/>.</summary>
    public sealed record GetState
    {
        /// <summary>The message.</summary>
        public static GetState Instance { get; } = new();
    }

    /// <summary>The live reservations (peer and expiration) and how many circuits run.</summary>
    public sealed record StateIs(IReadOnlyDictionary<PeerId, DateTimeOffset> Reservations, int Circuits);
}
