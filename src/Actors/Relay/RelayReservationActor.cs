using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Relay;

/// <summary>
/// Keeps one reservation on one relay alive: reserves, renews when half the remaining time has
/// passed (so a renewal that fails has time for retries before the reservation ends), and retries
/// a failed reservation with a doubling backoff (1 s up to 1 minute). A reservation ends with the
/// connection it was made on, so when that connection goes the actor reserves again at once
/// (dialing the relay anew). Every outcome is published on the event stream as
/// <see cref="RelayReservationChanged"/>. Stop the actor to stop renewing; the relay lets the
/// reservation expire.
/// </summary>
public sealed class RelayReservationActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastRetry = TimeSpan.FromMinutes(1);
    private readonly NetworkClient _network;
    private readonly PeerId _relay;
    private readonly IReadOnlyList<Multiaddr> _addresses;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _clock;
    private TimeSpan _retry = FirstRetry;

    /// <summary>Event: a reservation on <paramref name="Relay"/> was made or renewed (<paramref name="Reservation"/>), or failed (<paramref name="Error"/>; a retry follows).</summary>
    public sealed record RelayReservationChanged(PeerId LocalPeer, PeerId Relay, RelayReservation? Reservation, Exception? Error);

    private sealed record Renew;
    private sealed record Reserved(RelayReservation Reservation);
    private sealed record Failed(Exception Error);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public RelayReservationActor(NetworkClient network, PeerId relay, IReadOnlyList<Multiaddr> addresses, TimeSpan timeout, TimeProvider clock)
    {
        _network = network;
        _relay = relay;
        _addresses = addresses;
        _timeout = timeout;
        _clock = clock;
        Receive<Renew>(_ => Reserve());
        Receive<Swarm.SwarmProtocol.Disconnected>(d => d.Connection.LocalPeer == _network.LocalPeer && d.Connection.RemotePeer == _relay && !d.Connection.Stat.Transient, _ =>
        {
            // The reservation went with the connection: get a new one now, not at the next renewal.
            _retry = FirstRetry;
            Timers.StartSingleTimer("renew", new Renew(), TimeSpan.Zero);
        });
        Receive<Swarm.SwarmProtocol.Disconnected>(_ => { });
        Receive<Reserved>(r =>
        {
            _retry = FirstRetry;
            Context.System.EventStream.Publish(new RelayReservationChanged(_network.LocalPeer, _relay, r.Reservation, null));
            var left = r.Reservation.Expiration - _clock.GetUtcNow();
            Timers.StartSingleTimer("renew", new Renew(), left > TimeSpan.FromSeconds(2) ? left / 2 : TimeSpan.FromSeconds(1));
        });
        Receive<Failed>(f =>
        {
            Context.System.EventStream.Publish(new RelayReservationChanged(_network.LocalPeer, _relay, null, f.Error));
            Timers.StartSingleTimer("renew", new Renew(), _retry);
            _retry = _retry * 2 > LastRetry ? LastRetry : _retry * 2;
        });
    }

    /// <summary>Keeps a reservation on <paramref name="relay"/> (dialed at <paramref name="addresses"/> when not connected); each attempt within <paramref name="timeout"/>.</summary>
    public static Props Props(NetworkClient network, PeerId relay, IReadOnlyList<Multiaddr> addresses, TimeSpan timeout, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new RelayReservationActor(network, relay, addresses, timeout, clock ?? TimeProvider.System));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(Swarm.SwarmProtocol.Disconnected));
        Reserve();
    }

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void Reserve() =>
        RelayClient.ReserveAsync(_network, _relay, _addresses, _timeout)
            .PipeTo(Self, success: r => new Reserved(r), failure: e => new Failed(e is AggregateException a ? a.GetBaseException() : e));
}
