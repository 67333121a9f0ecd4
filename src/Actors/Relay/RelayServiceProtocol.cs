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
    /// An allowed circuit counts until <see cref="CircuitClosed"/>.
    /// </summary>
    public sealed record OpenCircuit(PeerId Source, ConnectionInfo SourceConnection, PeerId Target);

    /// <summary>The circuit may be opened; it is counted against both peers.</summary>
    public sealed record CircuitAllowed(PeerId Source, PeerId Target);

    /// <summary>The circuit from <paramref name="Source"/> to <paramref name="Target"/> ended (or never got going): it counts no more.</summary>
    public sealed record CircuitClosed(PeerId Source, PeerId Target);

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
