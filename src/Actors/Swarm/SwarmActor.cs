using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// The network (the seed's <c>Network</c>): the connection table, and the supervisor of every
/// listener, dial, connection and stream. It is the one publisher of connection events, so a
/// connection's <see cref="SwarmProtocol.Connected"/> always comes before its <see cref="SwarmProtocol.Disconnected"/>.
/// Children that own sockets are stopped, never restarted, when they fail.
/// </summary>
/// <remarks>
/// Three tables, one entry per child: <c>_connections</c> (a <see cref="LiveConnection"/> per
/// <see cref="ConnectionActor"/> adopted; <c>_upgrading</c> holds those not yet up), <c>_listeners</c> (a <see cref="Listener"/> per
/// <see cref="ListenerActor"/>) and <c>_dials</c> (a <see cref="DialInProgress"/> per peer being
/// dialed). Listening is in <c>SwarmActor.Listening.cs</c>; dialing, adopting connections and
/// closing in <c>SwarmActor.Connections.cs</c>.
/// </remarks>
public sealed partial class SwarmActor : ReceiveActor, IWithTimers
{
    private readonly SwarmSettings _settings;
    private readonly PeerId _local;
    private readonly IActorRef _peerstore;
    private readonly ActorMaterializer _materializer;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, LiveConnection> _connections = new();
    private readonly HashSet<IActorRef> _upgrading = [];
    private readonly Dictionary<IActorRef, Listener> _listeners = new();
    private readonly List<ListenRequest> _listenRequests = [];
    private readonly Dictionary<DialKey, DialInProgress> _dials = new();
    // CanConnect / CannotConnect of peers not connected now, the most recent HistoryLimit of them:
    // a peer can bring a fresh identity to every connection, so all of them would grow it for good.
    private readonly OrderedDictionary<PeerId, Connectedness> _history = new();
    private const int HistoryLimit = 1024;
    private readonly Dictionary<PeerId, Dictionary<Multiaddr, DialActor.Backoff>> _backoff = new();
    private StreamHandlerTable _handlers = StreamHandlerTable.Empty;
    private long _nextConnection;
    private long _nextListener;
    private long _nextDial;
    private readonly IActorRef? _connectionManager;
    private readonly Dictionary<GaterHook, long> _gated = new();

    /// <summary>One live connection: what the Swarm reports of it, and the handle it aborts if the Swarm stops abruptly.</summary>
    private sealed record LiveConnection(ConnectionInfo Info, MuxedConnection Handle);

    /// <summary>One listener: the address asked for, the one bound once known, and who waits for it to close.</summary>
    private sealed class Listener(Multiaddr requested)
    {
        public Multiaddr Requested { get; } = requested;
        public Multiaddr? Bound { get; set; }
        public List<IActorRef> Closers { get; } = [];
    }

    /// <summary>
    /// The dial of one peer: its actor, the requests waiting for its connection, and when it gives
    /// up (on the scheduler's monotonic clock): the latest deadline of its waiters.
    /// </summary>
    private sealed class DialInProgress(IActorRef actor, TimeSpan deadline)
    {
        public IActorRef Actor { get; } = actor;
        public List<Pending> Waiters { get; } = [];
        public TimeSpan Deadline { get; set; } = deadline;
    }

    /// <summary>
    /// Dials of a peer are shared when they want the same thing: a direct dial (no relayed
    /// addresses) or a simultaneous connect's side (its upgrade role) is not served by another dial.
    /// </summary>
    private readonly record struct DialKey(PeerId Peer, bool Direct, bool? SimultaneousClient);

    /// <summary>
    /// A request waiting for a connection: a dial, or a stream to open once connected, within its
    /// own <see cref="Timeout"/>. A class: each request is its own, and keys its own deadline's timer.
    /// </summary>
    private sealed class Pending(IActorRef replyTo, IReadOnlyList<string>? streamProtocols, TimeSpan timeout)
    {
        public IActorRef ReplyTo { get; } = replyTo;
        public IReadOnlyList<string>? StreamProtocols { get; } = streamProtocols;
        public TimeSpan Timeout { get; } = timeout;
    }

    /// <summary>A request that joined another's dial reached its own deadline before the dial's.</summary>
    private sealed record WaiterTimedOut(DialKey Key, Pending Waiter);

    private sealed record CloseTimedOut;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public SwarmActor(SwarmSettings settings, IActorRef? peerstore)
    {
        _settings = settings;
        _local = PeerId.FromPublicKey(settings.Identity.PublicKey);
        // Checked before anything starts, for Swarms built in code too: watermarks above the resource
        // manager's limit would have it refuse connections the manager means to keep (go-libp2p#1640).
        if (settings.ConnectionManager?.Conflict(settings.Resources.Limits) is { } conflict)
        {
            _log.Error("the swarm cannot start: {0}", conflict);
            throw new ArgumentException(conflict, nameof(settings));
        }
        // The Swarm's own: its stream supervisor is a child of the Swarm, so every graph (listeners,
        // connections) stops with it. Not one made from the ActorSystem: Akka.Streams gives every
        // materializer made from the system the same supervisor (/user/StreamSupervisor-0), so
        // shutting that one down stopped the application's own graphs and every other Swarm's.
        _materializer = ActorMaterializer.Create(Context, namePrefix: $"libp2p-{Self.Path.Name}");
        _peerstore = peerstore ?? Context.ActorOf(PeerstoreActor.Props(settings.Clock, settings.PeerstoreGracePeriod), "peerstore");
        settings.Resources.Start(Context);
        if (settings.ConnectionManager is { } manager)
        {
            _connectionManager = Context.ActorOf(ConnectionManagerActor.Props(manager, _local, settings.Clock), "connmgr");
        }
        Active();
    }

    /// <summary>A Swarm for <paramref name="settings"/>; it makes its own peerstore unless given one.</summary>
    public static Props Props(SwarmSettings settings, IActorRef? peerstore = null) =>
        Akka.Actor.Props.Create(() => new SwarmActor(settings, peerstore));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Abrupt stops included: every connection's handle hears why, so a caller still holding one
        // (its graph stopped with the Swarm's materializer) fails with this reason.
        foreach (var connection in _connections.Values)
            connection.Handle.Abort(new ConnectionClosedException("the swarm stopped"));
        // The Swarm owns its resource manager: its meter stops publishing with it. Its materializer,
        // a child, has stopped already, and with it every graph left.
        _settings.Resources.Dispose();
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Warning("a child of the swarm failed and is stopped: {0}", e.Message);
        return Directive.Stop;
    });

    private void Active()
    {
        Receive<SwarmProtocol.Listen>(HandleListen);
        Receive<ListenerActor.Bound>(HandleBound);
        Receive<ListenerActor.BindFailed>(f => ListenerFailed(Sender, f.Requested, f.Reason));
        Receive<SwarmProtocol.CloseListener>(HandleCloseListener);
        // An actor from the first byte: it opens the connection's scope, then upgrades it.
        Receive<ListenerActor.Accepted>(a => StartConnection(new ConnectionActor.ConnectionStart.Accepted(a.Inbound)));
        Receive<DialActor.StartAttempt>(a => StartConnection(new ConnectionActor.ConnectionStart.Dialed(a.Address, a.Transport, a.Peer, a.Timeout, Sender) { Initiator = a.Initiator }));
        Receive<ConnectionActor.Up>(u => Adopt(u.Info, u.Connection));
        Receive<SwarmProtocol.Dial>(d => RequestConnection(d.Peer, d.Options, d.Addresses, new Pending(Sender, null, d.Options.Timeout)));
        Receive<SwarmProtocol.OpenStream>(o => RequestConnection(o.Peer, o.Options, null, new Pending(Sender, o.Protocols, o.Options.Timeout)));
        Receive<DialActor.Succeeded>(HandleDialSucceeded);
        Receive<DialActor.Failed>(HandleDialFailed);
        Receive<WaiterTimedOut>(HandleWaiterTimedOut);
        Receive<SwarmProtocol.SetStreamHandler>(s => ChangeHandlers(s.Protocol, _handlers.Handlers.SetItem(s.Protocol, s.Handler)));
        Receive<SwarmProtocol.RemoveStreamHandler>(r => ChangeHandlers(r.Protocol, _handlers.Handlers.Remove(r.Protocol)));
        Receive<SwarmProtocol.ClosePeer>(c =>
        {
            foreach (var connection in ConnectionsTo(c.Peer))
                connection.Actor.Tell(Conn.Close.Instance);
            Sender.Tell(new SwarmProtocol.PeerClosed(c.Peer));
        });
        Receive<SwarmProtocol.Close>(_ => StartClosing(Sender));
        Receive<Terminated>(HandleTerminated);
        Queries();
    }

    /// <summary>The questions a Swarm answers in every state, closing included.</summary>
    private void Queries()
    {
        Receive<SwarmProtocol.GetListenAddresses>(g => Sender.Tell(new SwarmProtocol.ListenAddressesAre(ListenAddresses(g.ExpandInterfaces))));
        Receive<SwarmProtocol.GetConnectedness>(g => Sender.Tell(new SwarmProtocol.ConnectednessIs(g.Peer, ConnectednessOf(g.Peer))));
        Receive<SwarmProtocol.GetPeers>(_ => Sender.Tell(new SwarmProtocol.PeersAre(_connections.Values.Select(c => c.Info.RemotePeer).Distinct().ToArray())));
        Receive<SwarmProtocol.GetConns>(g => Sender.Tell(new SwarmProtocol.ConnsAre(g.Peer is null ? [.. _connections.Values.Select(c => c.Info)] : ConnectionsTo(g.Peer))));
        Receive<SwarmProtocol.GetProtocols>(_ => Sender.Tell(new SwarmProtocol.ProtocolsAre(Protocols())));
        Receive<SwarmProtocol.GetPeerstore>(_ => Sender.Tell(new SwarmProtocol.PeerstoreIs(_peerstore)));
        Receive<ConnectionManagerProtocol.ICommand>(c =>
        {
            if (_connectionManager is null)
                Sender.Tell(new ConnectionManagerProtocol.NoConnectionManager(c));
            else
                _connectionManager.Forward(c);
        });
        Receive<SwarmProtocol.ConnectionGated>(g =>
        {
            // Counted and published here, so one place knows every refusal of this node.
            _gated[g.Hook] = _gated.GetValueOrDefault(g.Hook) + 1;
            Context.System.EventStream.Publish(g);
        });
        Receive<SwarmProtocol.GetGaterCounts>(_ => Sender.Tell(new SwarmProtocol.GaterCountsAre(new Dictionary<GaterHook, long>(_gated))));
        Receive<SwarmProtocol.GetResourceSnapshot>(_ => _settings.Resources.SnapshotAsync().PipeTo(Sender, success: s => new SwarmProtocol.ResourceSnapshotIs(s)));
    }

    private void HandleTerminated(Terminated terminated)
    {
        var actor = terminated.ActorRef;
        if (_upgrading.Remove(actor))
            return;
        if (_connections.Remove(actor, out var connection))
        {
            var info = connection.Info;
            var disconnected = new SwarmProtocol.Disconnected(info);
            _connectionManager?.Tell(disconnected);
            Context.System.EventStream.Publish(disconnected);
            if (ConnectionsTo(info.RemotePeer).Count == 0)
            {
                Remember(info.RemotePeer, Connectedness.CanConnect);
                _peerstore.Tell(new PeerstoreProtocol.PeerDisconnected(info.RemotePeer));
            }
        }
        else if (_listeners.Remove(actor, out var listener))
        {
            if (listener.Bound is not null)
                Context.System.EventStream.Publish(new SwarmProtocol.ListenClosed(_local, listener.Bound));
            foreach (var closer in listener.Closers)
                closer.Tell(new SwarmProtocol.ListenerClosed(listener.Bound ?? listener.Requested));
            ListenerFailed(actor, listener.Requested, new TransportException($"the listener on {listener.Requested} stopped"));
        }
        else if (_dials.FirstOrDefault(d => d.Value.Actor.Equals(actor)) is { Value: { } dial } stopped)
        {
            // A dial actor that stopped without reporting: nobody may be left waiting.
            _dials.Remove(stopped.Key);
            CancelDeadlines(dial.Waiters);
            foreach (var waiter in dial.Waiters)
                Fail(stopped.Key.Peer, waiter, new DialException(stopped.Key.Peer, "the dial stopped"));
        }
    }
}
