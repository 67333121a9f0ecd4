using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;
using Libp2p.Actors.Peerstore;

namespace Libp2p.Actors.Swarm;

/// <summary>The Swarm's dialing, connection table and closing.</summary>
public sealed partial class SwarmActor
{
    private Exception? _lastRefusal;

    private void RequestConnection(PeerId peer, DialOptions options, IReadOnlyList<Multiaddr>? addresses, Pending pending)
    {
        if (peer == _local)
        {
            Fail(peer, pending, new DialException(peer, "dial to self attempted"));
            return;
        }
        var live = ConnectionsTo(peer);
        var usable = options.UseTransient is not null ? live : live.Where(c => !c.Stat.Transient).ToList();
        if (usable.Count > 0)
        {
            Satisfy(pending, usable[0]);
            return;
        }
        if (live.Count > 0 && options.ForceDirectDial is null)
        {
            Fail(peer, pending, new TransientConnectionException(peer));
            return;
        }
        if (options.NoDial is not null)
        {
            Fail(peer, pending, new NoConnectionException(peer, options.NoDial));
            return;
        }
        if (_backoff.TryGetValue(peer, out var backoff) && backoff.Until > _settings.Clock.GetUtcNow())
        {
            Fail(peer, pending, new DialException(peer, $"dial backoff: {backoff.Failures} failed dial(s), the next is allowed at {backoff.Until:O}"));
            return;
        }
        if (!_dials.TryGetValue(peer, out var dial))
        {
            // Numbered, not named after the peer alone: a finished dial reports before it has stopped,
            // so its name may still be taken when the next dial of the same peer starts.
            var actor = Context.ActorOf(DialActor.Props(peer, addresses ?? [], options.Timeout, _settings, _peerstore, _materializer), $"dial-{++_nextDial}-{peer}");
            Context.Watch(actor);
            _dials[peer] = dial = (actor, []);
        }
        dial.Waiters.Add(pending);
    }

    private void HandleDialSucceeded(DialActor.Succeeded succeeded)
    {
        _backoff.Remove(succeeded.Peer);
        var info = AddConnection(succeeded.Connection, succeeded.Addresses, succeeded.Upgrade, Direction.Outbound, succeeded.Scope);
        if (_dials.Remove(succeeded.Peer, out var dial))
        {
            foreach (var waiter in dial.Waiters)
            {
                if (info is null)
                    Fail(succeeded.Peer, waiter, _lastRefusal!);
                else
                    Satisfy(waiter, info);
            }
        }
    }

    private void HandleDialFailed(DialActor.Failed failed)
    {
        var failures = _backoff.TryGetValue(failed.Peer, out var previous) ? previous.Failures + 1 : 1;
        var delay = TimeSpan.FromTicks(Math.Min(_settings.BackoffMax.Ticks, _settings.BackoffBase.Ticks << Math.Min(failures - 1, 20)));
        _backoff[failed.Peer] = (_settings.Clock.GetUtcNow() + delay, failures);
        if (ConnectionsTo(failed.Peer).Count == 0)
            _history[failed.Peer] = Connectedness.CannotConnect;
        if (_dials.Remove(failed.Peer, out var dial))
        {
            foreach (var waiter in dial.Waiters)
                Fail(failed.Peer, waiter, failed.Reason);
        }
    }

    private ConnectionInfo? AddConnection(MuxedConnection connection, TransportConnection addresses, ConnectionUpgrade upgrade, Direction direction, ConnectionManagementScope scope)
    {
        try
        {
            scope.SetPeer(upgrade.RemotePeer);
        }
        catch (ResourceLimitExceededException e)
        {
            // Refused: the connection is cut and nothing stays reserved; a dialer learns why.
            _log.Info("refused a connection with {0}: {1}", upgrade.RemotePeer, e.Message);
            scope.Done();
            connection.Abort(e);
            _lastRefusal = e;
            return null;
        }
        var id = new ConnectionId(++_nextConnection);
        var info = new ConnectionInfo(id, _local, upgrade.RemotePeer, upgrade.RemotePublicKey, addresses.LocalAddress, addresses.RemoteAddress,
            upgrade.Security, upgrade.Muxer, new Stats(direction, _settings.Clock.GetUtcNow(), false, new Dictionary<string, object>()), ActorRefs.Nobody);
        var actor = Context.ActorOf(ConnectionActor.Props(connection, info, _handlers, _materializer, _settings.Resources, scope, _settings.Streams), $"conn-{id}");
        info = info with { Actor = actor };
        Context.Watch(actor);
        _connections[id] = info;
        _connectionActors[actor] = id;
        _handles[id] = connection;
        _history.Remove(upgrade.RemotePeer);
        _peerstore.Tell(new PeerstoreProtocol.AddAddresses(upgrade.RemotePeer, [addresses.RemoteAddress], PeerstoreProtocol.Ttl.Connected));
        _peerstore.Tell(new PeerstoreProtocol.AddPublicKey(upgrade.RemotePeer, upgrade.RemotePublicKey));
        Context.System.EventStream.Publish(new SwarmProtocol.Connected(info));
        return info;
    }

    private List<ConnectionInfo> ConnectionsTo(PeerId peer) => _connections.Values.Where(c => c.RemotePeer == peer).ToList();

    private Connectedness ConnectednessOf(PeerId peer) =>
        ConnectionsTo(peer).Count > 0 ? Connectedness.Connected : _history.GetValueOrDefault(peer, Connectedness.NotConnected);

    private static void Satisfy(Pending pending, ConnectionInfo connection)
    {
        if (pending.StreamProtocols is null)
            pending.ReplyTo.Tell(new SwarmProtocol.Dialed(connection));
        else
            connection.Actor.Tell(new Conn.NewStream(pending.StreamProtocols), pending.ReplyTo);
    }

    private static void Fail(PeerId peer, Pending pending, Exception reason) =>
        pending.ReplyTo.Tell(pending.StreamProtocols is null ? new SwarmProtocol.DialFailed(peer, reason) : new SwarmProtocol.OpenStreamFailed(peer, reason));

    private void ChangeHandlers(string protocol, System.Collections.Immutable.ImmutableDictionary<string, StreamHandler> handlers)
    {
        _handlers = new StreamHandlerTable(handlers);
        foreach (var connection in _connections.Values)
            connection.Actor.Tell(new Conn.HandlersChanged(_handlers));
        Sender.Tell(new SwarmProtocol.HandlerSet(protocol));
        Context.System.EventStream.Publish(new SwarmProtocol.ProtocolsChanged(_local, Protocols()));
    }

    private string[] Protocols() => [.. _handlers.Handlers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Listeners go first, then dials, then connections; the reply waits until no child is left.</summary>
    private void StartClosing(IActorRef requester)
    {
        var closers = new List<IActorRef> { requester };
        foreach (var listener in _listeners.Keys)
            Context.Stop(listener);
        foreach (var (peer, dial) in _dials)
        {
            foreach (var waiter in dial.Waiters)
                Fail(peer, waiter, new DialException(peer, "the network is closing"));
            Context.Stop(dial.Actor);
        }
        _dials.Clear();
        // A connection whose remote never answers the goodbye is cut after a grace period.
        Timers.StartSingleTimer("close", new CloseTimedOut(), TimeSpan.FromSeconds(5));
        Become(() => Closing(closers));
        CheckClosed(closers);
    }

    private bool _connectionsClosing;

    /// <summary>Connections are asked to close only once no listener is left, so nothing new arrives meanwhile.</summary>
    private void CloseConnectionsWhenListenersAreGone()
    {
        if (_connectionsClosing || _listeners.Count > 0)
            return;
        _connectionsClosing = true;
        foreach (var connection in _connections.Values)
            connection.Actor.Tell(Conn.Close.Instance);
    }

    private void Closing(List<IActorRef> closers)
    {
        Receive<Terminated>(t =>
        {
            HandleTerminated(t);
            CheckClosed(closers);
        });
        Receive<SwarmProtocol.Close>(_ =>
        {
            closers.Add(Sender);
            CheckClosed(closers);
        });
        Receive<CloseTimedOut>(_ =>
        {
            foreach (var actor in _connectionActors.Keys)
                Context.Stop(actor);
        });
        Receive<SwarmProtocol.Dial>(d => Sender.Tell(new SwarmProtocol.DialFailed(d.Peer, new DialException(d.Peer, "the network is closed"))));
        Receive<SwarmProtocol.OpenStream>(o => Sender.Tell(new SwarmProtocol.OpenStreamFailed(o.Peer, new DialException(o.Peer, "the network is closed"))));
        Receive<SwarmProtocol.GetConns>(g => Sender.Tell(new SwarmProtocol.ConnsAre([.. _connections.Values])));
        Receive<SwarmProtocol.GetPeers>(_ => Sender.Tell(new SwarmProtocol.PeersAre([])));
        // Connections that finish upgrading while closing are not adopted: they are closed at once.
        Receive<ListenerActor.Accepted>(a =>
        {
            a.Scope.Done();
            a.Connection.Close();
        });
        Receive<InboundUpgraded>(u =>
        {
            u.Scope.Done();
            u.Connection.Close();
        });
        Receive<InboundFailed>(f => f.Scope.Done());
        Receive<DialActor.Succeeded>(d =>
        {
            d.Scope.Done();
            d.Connection.Close();
        });
        Receive<SwarmProtocol.GetListenAddresses>(g => Sender.Tell(new SwarmProtocol.ListenAddressesAre(ListenAddresses(g.ExpandInterfaces))));
        Receive<SwarmProtocol.GetConnectedness>(g => Sender.Tell(new SwarmProtocol.ConnectednessIs(g.Peer, ConnectednessOf(g.Peer))));
        Receive<SwarmProtocol.GetPeerstore>(_ => Sender.Tell(new SwarmProtocol.PeerstoreIs(_peerstore)));
        Receive<SwarmProtocol.GetResourceSnapshot>(_ => Sender.Tell(new SwarmProtocol.ResourceSnapshotIs(_settings.Resources.Snapshot())));
        Receive<SwarmProtocol.Listen>(l => Sender.Tell(new SwarmProtocol.ListenFailed(l.Addresses.FirstOrDefault() ?? Multiaddr.Empty, new TransportException("the network is closed"))));
        // Everything else is for a network that is gone; the messages above answer what can be answered.
        ReceiveAny(_ => { });
    }

    private void CheckClosed(List<IActorRef> closers)
    {
        CloseConnectionsWhenListenersAreGone();
        if (_listeners.Count > 0 || _connectionActors.Count > 0)
            return;
        Timers.Cancel("close");
        foreach (var closer in closers)
            closer.Tell(SwarmProtocol.Closed.Instance);
        closers.Clear();
    }
}
