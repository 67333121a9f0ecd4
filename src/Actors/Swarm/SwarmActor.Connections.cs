using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Swarm;

/// <summary>The Swarm's dialing, connection table and closing.</summary>
public sealed partial class SwarmActor
{
    /// <summary>Who waits for the Swarm to close, and whether its connections were asked to close yet.</summary>
    private sealed class ClosingState
    {
        public List<IActorRef> Closers { get; } = [];
        public bool ConnectionsAsked { get; set; }
    }

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
            _dials[peer] = dial = new DialInProgress(actor, []);
        }
        dial.Waiters.Add(pending);
    }

    private void HandleDialSucceeded(DialActor.Succeeded succeeded)
    {
        _backoff.Remove(succeeded.Peer);
        var waiters = _dials.Remove(succeeded.Peer, out var dial) ? dial.Waiters : [];
        if (TryAdopt(succeeded.Connection, succeeded.Addresses, succeeded.Upgrade, Direction.Outbound, succeeded.Scope, out var info, out var refusal))
        {
            foreach (var waiter in waiters)
                Satisfy(waiter, info);
        }
        else
        {
            foreach (var waiter in waiters)
                Fail(succeeded.Peer, waiter, refusal);
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

    /// <summary>
    /// Takes an upgraded connection into the table under a new <see cref="ConnectionActor"/>, once its
    /// scope accepts the peer. Refused, the connection is cut, nothing stays reserved, and the refusal
    /// is returned for a dialer to learn why.
    /// </summary>
    private bool TryAdopt(MuxedConnection connection, TransportConnection addresses, ConnectionUpgrade upgrade, Direction direction, ConnectionManagementScope scope,
        [NotNullWhen(true)] out ConnectionInfo? info, [NotNullWhen(false)] out ResourceLimitExceededException? refusal)
    {
        try
        {
            scope.SetPeer(upgrade.RemotePeer);
        }
        catch (ResourceLimitExceededException e)
        {
            _log.Info("refused a connection with {0}: {1}", upgrade.RemotePeer, e.Message);
            scope.Done();
            connection.Abort(e);
            (info, refusal) = (null, e);
            return false;
        }
        var id = new ConnectionId(++_nextConnection);
        info = new ConnectionInfo(id, _local, upgrade.RemotePeer, upgrade.RemotePublicKey, addresses.LocalAddress, addresses.RemoteAddress,
            upgrade.Security, upgrade.Muxer, new Stats(direction, _settings.Clock.GetUtcNow(), false, new Dictionary<string, object>()), ActorRefs.Nobody);
        var actor = Context.ActorOf(ConnectionActor.Props(connection, info, _handlers, _materializer, _settings.Resources, scope, _settings.Streams), $"conn-{id}");
        info = info with { Actor = actor };
        Context.Watch(actor);
        _connections[actor] = new LiveConnection(info, connection);
        _history.Remove(upgrade.RemotePeer);
        // Only an address we dialed is worth keeping: an inbound connection's comes from an ephemeral
        // port nobody listens on, and a peer reconnecting from new ports would grow the peerstore.
        if (direction == Direction.Outbound)
            _peerstore.Tell(new PeerstoreProtocol.AddAddresses(upgrade.RemotePeer, [addresses.RemoteAddress], PeerstoreProtocol.Ttl.Connected));
        _peerstore.Tell(new PeerstoreProtocol.AddPublicKey(upgrade.RemotePeer, upgrade.RemotePublicKey));
        Context.System.EventStream.Publish(new SwarmProtocol.Connected(info));
        refusal = null;
        return true;
    }

    private List<ConnectionInfo> ConnectionsTo(PeerId peer) => _connections.Values.Select(c => c.Info).Where(c => c.RemotePeer == peer).ToList();

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

    private void ChangeHandlers(string protocol, ImmutableDictionary<string, StreamHandler> handlers)
    {
        _handlers = new StreamHandlerTable(handlers);
        foreach (var connection in _connections.Keys)
            connection.Tell(new Conn.HandlersChanged(_handlers));
        Sender.Tell(new SwarmProtocol.HandlerSet(protocol));
        Context.System.EventStream.Publish(new SwarmProtocol.ProtocolsChanged(_local, Protocols()));
    }

    private string[] Protocols() => [.. _handlers.Handlers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Listeners go first, then dials, then connections; the reply waits until no child is left.</summary>
    private void StartClosing(IActorRef requester)
    {
        var closing = new ClosingState();
        closing.Closers.Add(requester);
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
        Become(() => Closing(closing));
        CheckClosed(closing);
    }

    private void Closing(ClosingState closing)
    {
        Receive<Terminated>(t =>
        {
            HandleTerminated(t);
            CheckClosed(closing);
        });
        Receive<SwarmProtocol.Close>(_ =>
        {
            closing.Closers.Add(Sender);
            CheckClosed(closing);
        });
        Receive<CloseTimedOut>(_ =>
        {
            foreach (var actor in _connections.Keys)
                Context.Stop(actor);
        });
        Receive<SwarmProtocol.Dial>(d => Sender.Tell(new SwarmProtocol.DialFailed(d.Peer, new DialException(d.Peer, "the network is closed"))));
        Receive<SwarmProtocol.OpenStream>(o => Sender.Tell(new SwarmProtocol.OpenStreamFailed(o.Peer, new DialException(o.Peer, "the network is closed"))));
        Receive<SwarmProtocol.Listen>(l => Sender.Tell(new SwarmProtocol.ListenFailed(l.Addresses.FirstOrDefault() ?? Multiaddr.Empty, new TransportException("the network is closed"))));
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
        Queries();
        // Everything else is for a network that is gone; the messages above answer what can be answered.
        ReceiveAny(_ => { });
    }

    /// <summary>Connections are asked to close only once no listener is left, so nothing new arrives meanwhile; the closers are answered once no child is left.</summary>
    private void CheckClosed(ClosingState closing)
    {
        if (_listeners.Count > 0)
            return;
        if (!closing.ConnectionsAsked)
        {
            closing.ConnectionsAsked = true;
            foreach (var connection in _connections.Keys)
                connection.Tell(Conn.Close.Instance);
        }
        if (_connections.Count > 0)
            return;
        Timers.Cancel("close");
        foreach (var closer in closing.Closers)
            closer.Tell(SwarmProtocol.Closed.Instance);
        closing.Closers.Clear();
    }
}
