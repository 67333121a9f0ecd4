using Akka.Actor;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Network;

/// <summary>A connection's ID, unique within this host during this run (the seed's <c>Conn.ID()</c>).</summary>
public readonly record struct ConnectionId(long Value)
{
    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A stream's ID, unique within this host during this run: its connection's ID and its own number.</summary>
public readonly record struct StreamId(ConnectionId Connection, long Value)
{
    /// <inheritdoc />
    public override string ToString() => $"{Connection}-{Value}";
}

/// <summary>What the seed's <c>Stats</c> hold for a connection or stream.</summary>
/// <param name="Direction">Who opened it.</param>
/// <param name="Opened">When it opened.</param>
/// <param name="Transient">Whether it is transient (relayed, limited) and may close soon.</param>
/// <param name="Extra">Additional metadata.</param>
public sealed record Stats(Direction Direction, DateTimeOffset Opened, bool Transient, IReadOnlyDictionary<string, object> Extra);

/// <summary>
/// An upgraded connection as the Swarm reports it (the seed's <c>Conn</c>): who is on each end,
/// how it was secured and muxed, and the <see cref="Actor"/> that owns it.
/// </summary>
public sealed record ConnectionInfo(
    ConnectionId Id,
    PeerId LocalPeer,
    PeerId RemotePeer,
    PublicKey RemotePublicKey,
    Multiaddr LocalAddress,
    Multiaddr RemoteAddress,
    string Security,
    string Muxer,
    Stats Stat,
    IActorRef Actor)
{
    /// <inheritdoc />
    public override string ToString() => $"conn {Id} {Stat.Direction} {RemotePeer} at {RemoteAddress}";
}
