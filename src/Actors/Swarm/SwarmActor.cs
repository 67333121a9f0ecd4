using System.Collections.Immutable;
using System.Net;
using System.Net.NetworkInformation;
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
public sealed partial class SwarmActor : ReceiveActor, IWithTimers
{
    private readonly SwarmSettings _settings;
    private readonly PeerId _local;
    private readonly IActorRef _peerstore;
    private readonly ActorMaterializer _materializer;
    private readonly Dictionary<ConnectionId, MuxedConnection> _handles = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<ConnectionId, ConnectionInfo> _connections = new();
    private readonly Dictionary<IActorRef, ConnectionId> _connectionActors = new();
    private readonly Dictionary<PeerId, Connectedness> _history = new();
    private readonly Dictionary<PeerId, (DateTimeOffset Until, int Failures)> _backoff = new();
    private readonly Dictionary<PeerId, (IActorRef Actor, List<Pending> Waiters)> _dials = new();
    private readonly Dictionary<IActorRef, (Multiaddr Requested, Multiaddr? Bound)> _listeners = new();
    private readonly List<ListenRequest> _listenRequests = [];
    private readonly Dictionary<IActorRef, List<IActorRef>> _listenerClosers = new();
    private StreamHandlerTable _handlers = StreamHandlerTable.Empty;
    private long _nextConnection;
    private long _nextListener;
    private long _nextDial;

    /// <summary>A request waiting for a connection: a dial, or a stream to open once connected.</summary>
    private sealed record Pending(IActorRef ReplyTo, IReadOnlyList<string>? StreamProtocols);

    private sealed class ListenRequest(IActorRef replyTo, HashSet<IActorRef> waiting)
    {
        public IActorRef ReplyTo { get; } = replyTo;
        public HashSet<IActorRef> Waiting { get; } = waiting;
        public List<Multiaddr> Bound { get; } = [];
        public bool Failed { get; set; }
    }

    private sealed record InboundUpgraded(MuxedConnection Connection, TransportConnection Addresses, ConnectionUpgrade Upgrade, ConnectionManagementScope Scope);
    private sealed record InboundFailed(Exception Reason, ConnectionManagementScope Scope);
    private sealed record CloseTimedOut;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public SwarmActor(SwarmSettings settings, IActorRef? peerstore)
    {
        _settings = settings;
        _local = PeerId.FromPublicKey(settings.Identity.PublicKey);
        // Not a child of the Swarm: if the Swarm is stopped abruptly its connection actors abort
        // their graphs on the way out, and the graphs must still be alive to hear it and reset
        // their sockets. The Swarm shuts the materializer down once they are gone.
        _materializer = ActorMaterializer.Create(Context.System, namePrefix: $"libp2p-{Self.Path.Name}");
        _peerstore = peerstore ?? Context.ActorOf(PeerstoreActor.Props(settings.Clock), "peerstore");
        Context.ActorOf(ResourceManagerActor.Props(settings.Resources), "rcmgr");
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
        // Abrupt stops included: every connection is told to abort, on a graph that is still alive.
        foreach (var connection in _handles.Values)
            connection.Abort(new ConnectionClosedException("the swarm stopped"));
        // The Swarm owns its resource manager: its meter stops publishing with it.
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
        Receive<ListenerActor.BindFailed>(HandleBindFailed);
        Receive<SwarmProtocol.CloseListener>(c =>
        {
            var listener = _listeners.FirstOrDefault(l => l.Value.Bound == c.Address || l.Value.Requested == c.Address).Key;
            if (listener is null)
            {
                Sender.Tell(new SwarmProtocol.ListenerClosed(c.Address));
                return;
            }
            if (!_listenerClosers.TryGetValue(listener, out var closers))
                _listenerClosers[listener] = closers = [];
            closers.Add(Sender);
            Context.Stop(listener);
        });
        Receive<SwarmProtocol.GetListenAddresses>(g => Sender.Tell(new SwarmProtocol.ListenAddressesAre(ListenAddresses(g.ExpandInterfaces))));
        // Counted (against the transient scope) by the listener from the moment it was accepted, before the handshake.
        Receive<ListenerActor.Accepted>(a =>
            a.Connection.Upgraded.PipeTo(Self, success: u => new InboundUpgraded(a.Connection, a.Addresses, u, a.Scope), failure: e => new InboundFailed(e, a.Scope)));
        Receive<ListenerActor.Refused>(r => _log.Info("refused an inbound connection from {0}: {1}", r.Addresses.RemoteAddress, r.Reason.Message));
        Receive<InboundUpgraded>(u => AddConnection(u.Connection, u.Addresses, u.Upgrade, Direction.Inbound, u.Scope));
        Receive<InboundFailed>(f =>
        {
            f.Scope.Done();
            _log.Info("an inbound connection failed its upgrade: {0}", f.Reason.Message);
        });
        Receive<SwarmProtocol.Dial>(d => RequestConnection(d.Peer, d.Options, d.Addresses, new Pending(Sender, null)));
        Receive<SwarmProtocol.OpenStream>(o => RequestConnection(o.Peer, o.Options, null, new Pending(Sender, o.Protocols)));
        Receive<DialActor.Succeeded>(HandleDialSucceeded);
        Receive<DialActor.Failed>(HandleDialFailed);
        Receive<SwarmProtocol.SetStreamHandler>(s => ChangeHandlers(s.Protocol, _handlers.Handlers.SetItem(s.Protocol, s.Handler)));
        Receive<SwarmProtocol.RemoveStreamHandler>(r => ChangeHandlers(r.Protocol, _handlers.Handlers.Remove(r.Protocol)));
        Receive<SwarmProtocol.ClosePeer>(c =>
        {
            foreach (var connection in ConnectionsTo(c.Peer))
                connection.Actor.Tell(Conn.Close.Instance);
            Sender.Tell(new SwarmProtocol.PeerClosed(c.Peer));
        });
        Receive<SwarmProtocol.GetConnectedness>(g => Sender.Tell(new SwarmProtocol.ConnectednessIs(g.Peer, ConnectednessOf(g.Peer))));
        Receive<SwarmProtocol.GetPeers>(_ => Sender.Tell(new SwarmProtocol.PeersAre(_connections.Values.Select(c => c.RemotePeer).Distinct().ToArray())));
        Receive<SwarmProtocol.GetConns>(g => Sender.Tell(new SwarmProtocol.ConnsAre(g.Peer is null ? [.. _connections.Values] : ConnectionsTo(g.Peer))));
        Receive<SwarmProtocol.GetProtocols>(_ => Sender.Tell(new SwarmProtocol.ProtocolsAre(Protocols())));
        Receive<SwarmProtocol.GetPeerstore>(_ => Sender.Tell(new SwarmProtocol.PeerstoreIs(_peerstore)));
        Receive<SwarmProtocol.GetResourceSnapshot>(_ => Sender.Tell(new SwarmProtocol.ResourceSnapshotIs(_settings.Resources.Snapshot())));
        Receive<SwarmProtocol.Close>(_ => StartClosing(Sender));
        Receive<Terminated>(HandleTerminated);
    }

    private void HandleListen(SwarmProtocol.Listen listen)
    {
        var request = new ListenRequest(Sender, []);
        foreach (var address in listen.Addresses)
        {
            var transport = _settings.Transports.FirstOrDefault(t => t.CanListen(address));
            if (transport is null)
            {
                Sender.Tell(new SwarmProtocol.ListenFailed(address, new TransportException($"no transport can listen on {address}")));
                return;
            }
            var listener = Context.ActorOf(ListenerActor.Props(address, transport, _settings.Upgrade, _settings.Resources, _materializer), $"listener-{++_nextListener}");
            Context.Watch(listener);
            _listeners[listener] = (address, null);
            request.Waiting.Add(listener);
        }
        if (request.Waiting.Count == 0)
            Sender.Tell(new SwarmProtocol.Listening([]));
        else
            _listenRequests.Add(request);
    }

    private void HandleBound(ListenerActor.Bound bound)
    {
        _listeners[Sender] = (bound.Requested, bound.Address);
        Context.System.EventStream.Publish(new SwarmProtocol.ListenStarted(_local, bound.Address));
        foreach (var request in _listenRequests.Where(r => r.Waiting.Remove(Sender)).ToArray())
        {
            request.Bound.Add(bound.Address);
            if (request.Waiting.Count == 0)
            {
                _listenRequests.Remove(request);
                if (!request.Failed)
                    request.ReplyTo.Tell(new SwarmProtocol.Listening(request.Bound));
            }
        }
    }

    private void HandleBindFailed(ListenerActor.BindFailed failed)
    {
        foreach (var request in _listenRequests.Where(r => r.Waiting.Remove(Sender)).ToArray())
        {
            if (!request.Failed)
                request.ReplyTo.Tell(new SwarmProtocol.ListenFailed(failed.Requested, failed.Reason));
            request.Failed = true;
            if (request.Waiting.Count == 0)
                _listenRequests.Remove(request);
        }
    }

    private IReadOnlyList<Multiaddr> ListenAddresses(bool expand)
    {
        var bound = _listeners.Values.Where(l => l.Bound is not null).Select(l => l.Bound!).ToList();
        return expand ? bound.SelectMany(ExpandInterfaces).Distinct().ToArray() : bound;
    }

    /// <summary>0.0.0.0 and :: stand for every interface: list each interface address instead (the seed's <c>InterfaceListenAddresses</c>).</summary>
    private static IEnumerable<Multiaddr> ExpandInterfaces(Multiaddr address)
    {
        if (!address.TryGetIPEndPoint(out var endPoint) || !(endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)))
        {
            yield return address;
            yield break;
        }
        var family = endPoint.Address.AddressFamily;
        var rest = address.Components.Skip(2).Aggregate(Multiaddr.Empty, (m, c) => m.Encapsulate(c.ToString()));
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces().Where(n => n.OperationalStatus == OperationalStatus.Up))
        {
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses.Where(u => u.Address.AddressFamily == family))
                yield return Multiaddr.FromIPEndPoint(new IPEndPoint(unicast.Address, endPoint.Port), address.Components[1].Protocol.Name).Encapsulate(rest);
        }
    }

    private void HandleTerminated(Terminated terminated)
    {
        var actor = terminated.ActorRef;
        if (_connectionActors.Remove(actor, out var id) && _connections.Remove(id, out var info))
        {
            _handles.Remove(id);
            Context.System.EventStream.Publish(new SwarmProtocol.Disconnected(info));
            if (ConnectionsTo(info.RemotePeer).Count == 0)
            {
                _history[info.RemotePeer] = Connectedness.CanConnect;
                _peerstore.Tell(new PeerstoreProtocol.UpdateTtl(info.RemotePeer, PeerstoreProtocol.Ttl.Connected, PeerstoreProtocol.Ttl.RecentlyConnected));
            }
        }
        else if (_listeners.Remove(actor, out var listener))
        {
            if (listener.Bound is not null)
                Context.System.EventStream.Publish(new SwarmProtocol.ListenClosed(_local, listener.Bound));
            if (_listenerClosers.Remove(actor, out var closers))
            {
                foreach (var closer in closers)
                    closer.Tell(new SwarmProtocol.ListenerClosed(listener.Bound ?? listener.Requested));
            }
            HandleBindFailed(new ListenerActor.BindFailed(listener.Requested, new TransportException($"the listener on {listener.Requested} stopped")));
        }
        else
        {
            var dial = _dials.FirstOrDefault(d => d.Value.Actor.Equals(actor));
            if (dial.Value.Actor is not null)
            {
                // A dial actor that stopped without reporting: nobody may be left waiting.
                _dials.Remove(dial.Key);
                foreach (var waiter in dial.Value.Waiters)
                    Fail(dial.Key, waiter, new DialException(dial.Key, "the dial stopped"));
            }
        }
    }
}
