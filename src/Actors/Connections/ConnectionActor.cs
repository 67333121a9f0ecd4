using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Connections;

/// <summary>
/// One connection, from the moment it is accepted or dialed: it opens the connection's resource
/// scope (and is that scope's owner), upgrades the connection once the scope is approved, moves
/// the scope to the remote peer, and, once the Swarm adopts it, spawns a <see cref="StreamActor"/>
/// per stream. It stops when the connection is gone, which the Swarm (watching it) turns into the
/// <see cref="SwarmProtocol.Disconnected"/> event; whatever stops it, the connection is cut and its
/// scope released. Bytes never pass through this actor.
/// </summary>
public sealed class ConnectionActor : ReceiveActor
{
    private readonly ConnectionStart _start;
    private readonly ConnectionId _id;
    private readonly SwarmSettings _settings;
    private readonly IMaterializer _materializer;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, StreamHandle?> _streams = new();
    private readonly HashSet<IActorRef> _negotiatingInbound = new();
    private StreamHandlerTable _handlers;
    private MuxedConnection? _connection;
    private ConnectionManagementScope? _scope;
    private ConnectionInfo? _info;
    private bool _taking;
    private bool _upgraded;
    private Exception? _endedDuringUpgrade;
    private long _nextStream;

    /// <summary>How a connection begins: accepted by a listener, or one attempt of a dial.</summary>
    public abstract record ConnectionStart
    {
        private ConnectionStart() { }

        /// <summary>Accepted by a listener; the Swarm (the parent) is told when it is up.</summary>
        public sealed record Accepted(InboundConnection Inbound) : ConnectionStart;

        /// <summary>Dialed at <paramref name="Address"/> for <paramref name="Dialer"/>, which is told how it went and which the attempt lives no longer than, unless chosen.</summary>
        public sealed record Dialed(Multiaddr Address, ITransport Transport, PeerId Peer, TimeSpan Timeout, IActorRef Dialer) : ConnectionStart
        {
            /// <summary>Whether this side leads the upgrade: true for a dial, except the server's side of a simultaneous connect.</summary>
            public bool Initiator { get; init; } = true;
        }
    }

    /// <summary>The connection is secured, muxed and counted against its peer; sent to the Swarm, or to the dialer.</summary>
    public sealed record Up(ConnectionInfo Info, MuxedConnection Connection, Multiaddr? DialedAddress);

    /// <summary>A dial attempt failed: the reason the dialer reports for <paramref name="Address"/>.</summary>
    public sealed record AttemptFailed(Multiaddr Address, Exception Error);

    /// <summary>The dialer chose this attempt: it no longer ends with the dialer.</summary>
    public sealed record Chosen
    {
        /// <summary>The message.</summary>
        public static Chosen Instance { get; } = new();
    }

    /// <summary>The Swarm took the connection into its table: streams may flow.</summary>
    public sealed record Adopted
    {
        /// <summary>The message.</summary>
        public static Adopted Instance { get; } = new();
    }

    private sealed record ScopeOpened(ConnectionManagementScope Scope);
    private sealed record ScopeRefused(Exception Reason);
    private sealed record Upgraded(ConnectionUpgrade Upgrade, TransportConnection Addresses);
    private sealed record UpgradeFailed(Exception Reason);
    private sealed record PeerSet(ConnectionUpgrade Upgrade, TransportConnection Addresses);
    private sealed record PeerRefused(PeerId Peer, Exception Reason);
    private sealed record InboundStream(MuxedStream Stream);
    private sealed record InboundEnded;
    private sealed record ConnectionEnded(Exception? Error);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ConnectionActor(ConnectionStart start, ConnectionId id, SwarmSettings settings, StreamHandlerTable handlers, IMaterializer materializer)
    {
        _start = start;
        _id = id;
        _settings = settings;
        _handlers = handlers;
        _materializer = materializer;
        Upgrading();
    }

    /// <summary>The actor of a connection accepted or dialed (<paramref name="start"/>), numbered <paramref name="id"/>.</summary>
    public static Props Props(ConnectionStart start, ConnectionId id, SwarmSettings settings, StreamHandlerTable handlers, IMaterializer materializer) =>
        Akka.Actor.Props.Create(() => new ConnectionActor(start, id, settings, handlers, materializer));

    /// <summary>A <see cref="StreamActor"/> tells its parent the stream it negotiated.</summary>
    internal sealed record StreamNegotiated(StreamHandle Stream);

    private Direction Direction => _start is ConnectionStart.Accepted ? Direction.Inbound : Direction.Outbound;

    private Multiaddr RemoteAddress => _start switch
    {
        ConnectionStart.Accepted a => a.Inbound.Addresses.RemoteAddress,
        ConnectionStart.Dialed d => d.Address,
        _ => throw new InvalidOperationException(),
    };

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Warning("a stream of {0} failed: {1}", (object?)_info ?? _id, e.Message);
        return Directive.Stop;
    });

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_start is ConnectionStart.Dialed dialed)
            Context.Watch(dialed.Dialer);
        // Before anything is read or counted, as go-libp2p's listener asks: a refused connection holds no scope.
        if (_start is ConnectionStart.Accepted accepted
            && _settings.Gater?.InterceptAccept(accepted.Inbound.Addresses.LocalAddress, accepted.Inbound.Addresses.RemoteAddress) is { Allowed: false } verdict)
        {
            Gated(GaterHook.InterceptAccept, null, verdict.Refusal!);
            Refuse(accepted.Inbound);
            Context.Stop(Self);
            return;
        }
        // Counted from the first byte, as go-libp2p's listener and dialer do, and approved before
        // the upgrade starts, so the muxer's memory is charged to this connection's own scope.
        // A relayed connection is a stream on another connection: it holds no socket of its own.
        _settings.Resources.OpenConnectionAsync(Direction, useFileDescriptor: !RemoteAddress.Has(MultiaddrProtocol.P2pCircuit), RemoteAddress, owner: Self)
            .PipeTo(Self, success: s => new ScopeOpened(s), failure: e => new ScopeRefused(e));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // The actor owns the socket: when it stops for any reason, so does the connection.
        if (_connection is { Completion.IsCompleted: false })
            _connection.Abort(new ConnectionClosedException($"{(object?)_info ?? $"connection {_id}"} was closed by its actor stopping"));
        // Its scope watches this actor too; this only makes the release immediate.
        _scope?.Done();
    }

    private void Upgrading()
    {
        Receive<ScopeOpened>(o =>
        {
            _scope = o.Scope;
            var upgrade = _settings.Upgrade with { Memory = o.Scope.LeaseMemory() };
            switch (_start)
            {
                case ConnectionStart.Accepted accepted:
                    _connection = Upgrader.Accept(_materializer, accepted.Inbound, upgrade);
                    var addresses = accepted.Inbound.Addresses;
                    _connection.Upgraded.PipeTo(Self, success: u => new Upgraded(u, addresses), failure: e => new UpgradeFailed(e));
                    break;
                case ConnectionStart.Dialed dialed:
                    // The connect may take what is left of the dial's time, no more and no less.
                    var dial = Upgrader.Dial(Context.System, _materializer, dialed.Transport, WithTarget(dialed.Address, dialed.Peer), upgrade, dialed.Peer, dialed.Timeout, dialed.Initiator);
                    _connection = dial.Connection;
                    // Both settle: a refused connect closes the stage before the transport's task
                    // faults, and only the transport's error says "connection refused".
                    Task.WhenAll(dial.Connection.Upgraded, dial.Transport).ContinueWith(_ => dial.Connection.Upgraded.IsCompletedSuccessfully && dial.Transport.IsCompletedSuccessfully
                            ? (object)new Upgraded(dial.Connection.Upgraded.Result, dial.Transport.Result)
                            : new UpgradeFailed(dial.Transport.Exception?.GetBaseException() ?? dial.Connection.Upgraded.Exception?.GetBaseException() ?? new TimeoutException("cancelled")),
                            TaskScheduler.Default)
                        .PipeTo(Self);
                    break;
            }
            _connection!.Completion.ContinueWith(t => new ConnectionEnded(t.Exception?.GetBaseException()), TaskScheduler.Default).PipeTo(Self);
        });
        Receive<ScopeRefused>(r =>
        {
            if (_start is ConnectionStart.Accepted accepted)
            {
                Refuse(accepted.Inbound);
                _log.Info("refused an inbound connection from {0}: {1}", RemoteAddress, r.Reason.Message);
            }
            GiveUp(r.Reason);
        });
        Receive<Upgraded>(u =>
        {
            _upgraded = true;
            // The two tasks race: a connection the remote cut right after its upgrade (a gater's
            // refusal, a full peer scope) may have ended before this arrived, and would otherwise be
            // adopted dead and never leave.
            if (_endedDuringUpgrade is { } ended)
            {
                GiveUp(ended);
                return;
            }
            if (_settings.Gater?.InterceptSecured(Direction, u.Upgrade.RemotePeer, u.Addresses.LocalAddress, u.Addresses.RemoteAddress) is { Allowed: false } verdict)
            {
                var gated = Gated(GaterHook.InterceptSecured, u.Upgrade.RemotePeer, verdict.Refusal!);
                _connection!.Abort(gated);
                GiveUp(gated);
                return;
            }
            var self = Self;
            _scope!.SetPeerAsync(u.Upgrade.RemotePeer).PipeTo(self, success: () => new PeerSet(u.Upgrade, u.Addresses), failure: e => new PeerRefused(u.Upgrade.RemotePeer, e));
        });
        Receive<UpgradeFailed>(f =>
        {
            if (_start is ConnectionStart.Accepted)
                _log.Info("an inbound connection failed its upgrade: {0}", f.Reason.Message);
            GiveUp(f.Reason);
        });
        Receive<PeerRefused>(r =>
        {
            _log.Info("refused a connection with {0}: {1}", r.Peer, r.Reason.Message);
            _connection!.Abort(r.Reason);
            GiveUp(r.Reason);
        });
        Receive<PeerSet>(s =>
        {
            var upgrade = s.Upgrade;
            _info = new ConnectionInfo(_id, PeerId.FromPublicKey(_settings.Identity.PublicKey), upgrade.RemotePeer, upgrade.RemotePublicKey,
                s.Addresses.LocalAddress, s.Addresses.RemoteAddress, upgrade.Security, upgrade.Muxer,
                new Stats(Direction, _settings.Clock.GetUtcNow(), IsRelayed(s.Addresses), new Dictionary<string, object>()), Self);
            if (_settings.Gater?.InterceptUpgraded(_info) is { Allowed: false } verdict)
            {
                var gated = Gated(GaterHook.InterceptUpgraded, upgrade.RemotePeer, verdict.Refusal!);
                _connection!.Abort(gated);
                GiveUp(gated);
                return;
            }
            if (_start is ConnectionStart.Dialed dialed)
                dialed.Dialer.Tell(new Up(_info, _connection!, dialed.Address));
            else
                Context.Parent.Tell(new Up(_info, _connection!, null));
        });
        Receive<Chosen>(_ =>
        {
            if (_start is ConnectionStart.Dialed dialed)
                Context.Unwatch(dialed.Dialer);
        });
        Receive<Adopted>(_ =>
        {
            Become(Running);
            TakeInbound();
        });
        // A dial that ended (another address won, or time ran out) takes its attempts with it.
        Receive<Terminated>(_ => Context.Stop(Self));
        // Before the upgrade succeeds its failure says more (the transport's "connection refused"); after, the connection died before adoption.
        Receive<ConnectionEnded>(e =>
        {
            if (_upgraded)
                GiveUp(e.Error ?? new ConnectionClosedException("the connection closed before the Swarm took it"));
            else
                _endedDuringUpgrade = e.Error ?? new ConnectionClosedException("the connection closed right after its upgrade");
        });
        Receive<Conn.HandlersChanged>(h => _handlers = h.Handlers);
        Receive<Conn.Close>(_ => Context.Stop(Self));
    }

    /// <summary>
    /// A relayed address names the peer it leads to, and the dial ranks addresses without it: the
    /// relay transport needs it back to ask the relay for a circuit to that peer.
    /// </summary>
    private static Multiaddr WithTarget(Multiaddr address, PeerId peer) =>
        address.Has(MultiaddrProtocol.P2pCircuit) && address.Components[^1].Protocol == MultiaddrProtocol.P2pCircuit
            ? address.Encapsulate($"/p2p/{peer}")
            : address;

    /// <summary>A connection through a relay is limited (the seed's transient): the relay may cut it at its limits.</summary>
    private static bool IsRelayed(TransportConnection addresses) =>
        addresses.RemoteAddress.Has(MultiaddrProtocol.P2pCircuit) || addresses.LocalAddress.Has(MultiaddrProtocol.P2pCircuit);

    /// <summary>
    /// Closes a refused inbound connection without reading or sending a byte. Starting the upgrade
    /// only to abort it at once raced the handshake: on a loaded machine the remote's first
    /// messages were answered before the abort landed, and the dialer saw its upgrade succeed.
    /// </summary>
    private void Refuse(InboundConnection inbound) =>
        Source.Empty<Akka.IO.ByteString>().Via(inbound.Flow).RunWith(Sink.Cancelled<Akka.IO.ByteString>(), _materializer);

    /// <summary>The gater refused this connection: logged here, counted and published by the Swarm; the exception is what the dialer gets.</summary>
    private ConnectionGatedException Gated(GaterHook hook, PeerId? peer, string reason)
    {
        _log.Info("the gater refused {0} connection {1}{2} at {3} at {4}: {5}", Direction == Direction.Inbound ? "inbound" : "outbound", _id,
            peer is null ? "" : $" with {peer}", RemoteAddress, hook, reason);
        Context.Parent.Tell(new SwarmProtocol.ConnectionGated(PeerId.FromPublicKey(_settings.Identity.PublicKey), hook, Direction, peer, RemoteAddress, reason));
        return new ConnectionGatedException(hook, reason, peer, RemoteAddress);
    }

    /// <summary>Tells the dialer why (an accepted connection has nobody waiting), and stops: the scope and the socket go with the actor.</summary>
    private void GiveUp(Exception reason)
    {
        if (_start is ConnectionStart.Dialed dialed)
            dialed.Dialer.Tell(new AttemptFailed(dialed.Address, reason));
        Context.Stop(Self);
    }

    private void Running()
    {
        var info = _info!;
        var connection = _connection!;
        Receive<InboundStream>(s =>
        {
            _taking = false;
            var child = Spawn(StreamActor.Inbound(s.Stream, NextId(), info, _handlers, _settings.Resources, _settings.Streams.NegotiationTimeout));
            _negotiatingInbound.Add(child);
            TakeInbound();
        });
        Receive<InboundEnded>(_ => { });
        // Reserve, then open (go-libp2p's swarm_conn.go): the stream's actor opens it on the wire
        // only once its scope is approved, so a stream refused here never reaches the wire.
        Receive<Conn.NewStream>(n => Spawn(StreamActor.Outbound(connection, NextId(), info, n.Protocols, Sender, _settings.Resources, _settings.Streams.NegotiationTimeout)));
        Receive<Conn.HandlersChanged>(h => _handlers = h.Handlers);
        Receive<Conn.GetStats>(_ => Sender.Tell(new Conn.StatsAre(info.Stat, _streams.Count)));
        Receive<StreamNegotiated>(n =>
        {
            _streams[Sender] = n.Stream;
            _negotiatingInbound.Remove(Sender);
            TakeInbound();
        });
        Receive<Conn.GetStreams>(_ => Sender.Tell(new Conn.StreamsAre(_streams.Values.Where(h => h is not null).Select(h => h!).ToArray())));
        Receive<Conn.Close>(_ => connection.Close());
        Receive<ConnectionEnded>(e =>
        {
            if (e.Error is not null)
                _log.Info("{0} ended: {1}", info, e.Error.Message);
            Context.Stop(Self);
        });
        Receive<Terminated>(t =>
        {
            _streams.Remove(t.ActorRef);
            _negotiatingInbound.Remove(t.ActorRef);
            TakeInbound();
        });
    }

    /// <summary>
    /// Takes the next stream the remote opened once fewer than the cap of this connection's inbound
    /// streams are negotiating. The rest wait in the connection's backlog, not in the transient
    /// scope every peer shares; past the backlog the connection stage resets them.
    /// </summary>
    private void TakeInbound()
    {
        if (_taking || _negotiatingInbound.Count >= _settings.Streams.MaxNegotiatingInbound)
            return;
        _taking = true;
        _connection!.InboundStreams.ReadAsync().AsTask().PipeTo(Self,
            success: s => new InboundStream(s),
            failure: _ => new InboundEnded()); // the connection is ending; ConnectionEnded follows
    }

    private StreamId NextId() => new(_id, ++_nextStream);

    private IActorRef Spawn(Props props)
    {
        var child = Context.ActorOf(props, $"stream-{_id}-{_nextStream}");
        Context.Watch(child);
        _streams[child] = null;
        return child;
    }
}
