using Akka.Actor;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay;
using Libp2p.Protocols.Relay.Pb;
using Status = Libp2p.Protocols.Relay.Pb.Status;

namespace Libp2p.Actors.Relay;

/// <summary>
/// The books of a node serving as a circuit relay: who holds a reservation until when, and how many
/// circuits run from and to each peer. The hop protocol's streams ask it before they act, so every
/// limit is decided in one place, one message at a time. A reservation lasts until it expires or
/// the connection it was made on closes (the spec: "if the peer disconnects, the reservation is no
/// longer valid"). No bytes pass through this actor.
/// </summary>
public sealed class RelayServiceActor : ReceiveActor
{
    private readonly RelayServiceSettings _settings;
    private readonly PrivateKey _identity;
    private readonly PeerId _local;
    private readonly Dictionary<PeerId, Reservation> _reservations = new();
    private readonly Dictionary<PeerId, int> _circuits = new();
    // The circuits allowed and not yet closed, by the asker's id: a close names one, so one told
    // for a refused circuit, or told twice, finds nothing to give back.
    private readonly Dictionary<long, (PeerId Source, PeerId Target)> _open = new();

    private sealed record Reservation(DateTimeOffset Expiration, Network.ConnectionId Connection);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public RelayServiceActor(PrivateKey identity, RelayServiceSettings settings)
    {
        _identity = identity;
        _settings = settings;
        _local = PeerId.FromPublicKey(identity.PublicKey);

        Receive<RelayServiceProtocol.Reserve>(HandleReserve);
        Receive<RelayServiceProtocol.OpenCircuit>(HandleOpenCircuit);
        Receive<RelayServiceProtocol.CircuitClosed>(c =>
        {
            if (!_open.Remove(c.Id, out var circuit))
                return;
            Release(circuit.Source);
            Release(circuit.Target);
        });
        Receive<SwarmProtocol.Disconnected>(d => d.Connection.LocalPeer == _local, d =>
        {
            var peer = d.Connection.RemotePeer;
            if (_reservations.TryGetValue(peer, out var reservation) && reservation.Connection == d.Connection.Id)
                _reservations.Remove(peer);
        });
        Receive<SwarmProtocol.Disconnected>(_ => { });
        Receive<RelayServiceProtocol.GetState>(_ =>
        {
            Prune();
            Sender.Tell(new RelayServiceProtocol.StateIs(_reservations.ToDictionary(r => r.Key, r => r.Value.Expiration), _open.Count));
        });
    }

    /// <summary>The books of a relay that signs vouchers with <paramref name="identity"/> (the node's key).</summary>
    public static Props Props(PrivateKey identity, RelayServiceSettings settings) =>
        Akka.Actor.Props.Create(() => new RelayServiceActor(identity, settings));

    /// <inheritdoc />
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(SwarmProtocol.Disconnected));

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void HandleReserve(RelayServiceProtocol.Reserve reserve)
    {
        if (reserve.Connection.Stat.Transient)
        {
            Sender.Tell(new RelayServiceProtocol.Refused(Status.PermissionDenied, "a reservation over a relayed connection is refused"));
            return;
        }
        Prune();
        if (!_reservations.ContainsKey(reserve.Peer) && _reservations.Count >= _settings.MaxReservations)
        {
            Sender.Tell(new RelayServiceProtocol.Refused(Status.ReservationRefused, $"the relay holds its maximum of {_settings.MaxReservations} reservations"));
            return;
        }
        // Whole seconds: the wire carries seconds, and the voucher must say what the books say.
        var now = _settings.Clock.GetUtcNow();
        var expiration = DateTimeOffset.FromUnixTimeSeconds((now + _settings.ReservationTtl).ToUnixTimeSeconds());
        _reservations[reserve.Peer] = new Reservation(expiration, reserve.Connection.Id);
        var voucher = new ReservationVoucher(_local, reserve.Peer, expiration).Seal(_identity);
        Sender.Tell(new RelayServiceProtocol.Reserved(expiration, voucher));
    }

    private void HandleOpenCircuit(RelayServiceProtocol.OpenCircuit open)
    {
        if (open.SourceConnection.Stat.Transient)
        {
            Sender.Tell(new RelayServiceProtocol.Refused(Status.PermissionDenied, "a circuit requested over a relayed connection is refused"));
            return;
        }
        Prune();
        if (!_reservations.ContainsKey(open.Target))
        {
            Sender.Tell(new RelayServiceProtocol.Refused(Status.NoReservation, $"{open.Target} holds no reservation on this relay"));
            return;
        }
        foreach (var peer in new[] { open.Source, open.Target })
        {
            if (_circuits.GetValueOrDefault(peer) >= _settings.MaxCircuitsPerPeer)
            {
                Sender.Tell(new RelayServiceProtocol.Refused(Status.ResourceLimitExceeded,
                    $"{peer} already has its maximum of {_settings.MaxCircuitsPerPeer} circuits through this relay"));
                return;
            }
        }
        if (!_open.TryAdd(open.Id, (open.Source, open.Target)))
        {
            Sender.Tell(new RelayServiceProtocol.Refused(Status.MalformedMessage, $"circuit {open.Id} is open already"));
            return;
        }
        _circuits[open.Source] = _circuits.GetValueOrDefault(open.Source) + 1;
        _circuits[open.Target] = _circuits.GetValueOrDefault(open.Target) + 1;
        Sender.Tell(new RelayServiceProtocol.CircuitAllowed(open.Source, open.Target));
    }

    private void Release(PeerId peer)
    {
        if (_circuits.TryGetValue(peer, out var count))
        {
            if (count <= 1)
                _circuits.Remove(peer);
            else
                _circuits[peer] = count - 1;
        }
    }

    private void Prune()
    {
        var now = _settings.Clock.GetUtcNow();
        foreach (var (peer, reservation) in _reservations.ToArray())
        {
            if (reservation.Expiration <= now)
                _reservations.Remove(peer);
        }
    }
}
