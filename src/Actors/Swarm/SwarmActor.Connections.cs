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
        // A direct dial (go's WithForceDirectDial) is satisfied by a direct connection only; a relayed
        // one does not count, so hole punching dials even while it lives. A plain dial is answered
        // with a limited connection, as go's DialPeer is; a stream needs UseTransient to go on one.
        var limitedWillDo = options.ForceDirectDial is null && (options.UseTransient is not null || pending.StreamProtocols is null);
        var usable = limitedWillDo ? live : live.Where(c => !c.Stat.Transient).ToList();
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
        var key = new DialKey(peer, options.ForceDirectDial is not null, options.SimultaneousConnect?.IsClient);
        if (!_dials.TryGetValue(key, out var dial))
        {
            // Numbered, not named after the peer alone: a finished dial reports before it has stopped,
            // so its name may still be taken when the next dial of the same peer starts.
            // Backoff is per address, as go-libp2p's: the dial skips addresses that failed lately,
            // so a mistyped address does not hold back the right one of the same peer.
            // A simultaneous connect ignores the backoff: the hole it needs was not there before.
            var backedOff = options.SimultaneousConnect is null ? BackedOff(peer) : new Dictionary<Multiaddr, DialActor.Backoff>();
            var actor = Context.ActorOf(DialActor.Props(peer, addresses ?? [], options.Timeout, _settings, _peerstore, backedOff, options), $"dial-{++_nextDial}-{peer}");
            Context.Watch(actor);
            _dials[key] = dial = new DialInProgress(actor, Context.System.Scheduler.MonotonicClock + options.Timeout);
        }
        else
        {
            JoinDial(key, dial, pending);
        }
        dial.Waiters.Add(pending);
    }

    /// <summary>
    /// A request joins a dial already running, and keeps its own timeout (the seed's
    /// <c>WithDialPeerTimeout</c> is per call): a deadline sooner than the dial's fails it alone, a
    /// later one makes the dial run on, with the deadlines of those already waiting kept.
    /// </summary>
    private void JoinDial(DialKey key, DialInProgress dial, Pending pending)
    {
        var now = Context.System.Scheduler.MonotonicClock;
        var deadline = now + pending.Timeout;
        if (deadline < dial.Deadline)
        {
            Timers.StartSingleTimer(pending, new WaiterTimedOut(key, pending), pending.Timeout);
            return;
        }
        if (deadline == dial.Deadline)
            return;
        foreach (var waiter in dial.Waiters)
        {
            if (!Timers.IsTimerActive(waiter))
                Timers.StartSingleTimer(waiter, new WaiterTimedOut(key, waiter), dial.Deadline - now);
        }
        dial.Deadline = deadline;
        dial.Actor.Tell(new DialActor.ExtendTimeout(pending.Timeout));
    }

    private void HandleWaiterTimedOut(WaiterTimedOut timedOut)
    {
        if (!_dials.TryGetValue(timedOut.Key, out var dial) || !dial.Waiters.Remove(timedOut.Waiter))
            return;
        Fail(timedOut.Key.Peer, timedOut.Waiter, new DialException(timedOut.Key.Peer, $"timed out after {timedOut.Waiter.Timeout.TotalSeconds:0.###} s"));
    }

    /// <summary>Waiters that leave their dial (answered, or the dial gone) need their deadlines no more.</summary>
    private void CancelDeadlines(List<Pending> waiters)
    {
        foreach (var waiter in waiters)
            Timers.Cancel(waiter);
    }

    /// <summary>The dial <paramref name="actor"/> runs, taken out of the table; its waiters, or none if it is not there.</summary>
    private List<Pending> TakeDial(IActorRef actor)
    {
        foreach (var (key, dial) in _dials)
        {
            if (dial.Actor.Equals(actor))
            {
                _dials.Remove(key);
                CancelDeadlines(dial.Waiters);
                return dial.Waiters;
            }
        }
        return [];
    }

    private void HandleDialSucceeded(DialActor.Succeeded succeeded)
    {
        _backoff.Remove(succeeded.Peer);
        var waiters = TakeDial(Sender);
        Adopt(succeeded.Info, succeeded.Connection);
        foreach (var waiter in waiters)
            Satisfy(waiter, succeeded.Info);
    }

    /// <summary>Records how a peer's last attempt went; the oldest of more than <see cref="HistoryLimit"/> peers is forgotten (NotConnected).</summary>
    private void Remember(PeerId peer, Connectedness connectedness)
    {
        _history.Remove(peer);
        _history.Add(peer, connectedness);
        if (_history.Count > HistoryLimit)
            _history.RemoveAt(0);
    }

    private void HandleDialFailed(DialActor.Failed failed)
    {
        RecordBackoff(failed.Peer, failed.Reason);
        if (ConnectionsTo(failed.Peer).Count == 0)
            Remember(failed.Peer, Connectedness.CannotConnect);
        foreach (var waiter in TakeDial(Sender))
            Fail(failed.Peer, waiter, failed.Reason);
    }

    /// <summary>
    /// Backs off each address that failed, longer for each failure in a row (doubling from
    /// <see cref="SwarmSettings.BackoffBase"/> up to <see cref="SwarmSettings.BackoffMax"/>). A
    /// refusal of our own resource manager says nothing about the address, so it is not counted.
    /// </summary>
    private void RecordBackoff(PeerId peer, Exception reason)
    {
        if (reason is not DialException { Attempts.Count: > 0 } dial)
            return;
        var now = _settings.Clock.GetUtcNow();
        PruneBackoff(now);
        if (!_backoff.TryGetValue(peer, out var addresses))
            _backoff[peer] = addresses = new Dictionary<Multiaddr, DialActor.Backoff>();
        foreach (var (address, error) in dial.Attempts)
        {
            // Our own refusals (resource manager, gater) say nothing about the address.
            if (error is ResourceLimitExceededException or ConnectionGatedException)
                continue;
            var failures = addresses.TryGetValue(address, out var previous) ? previous.Failures + 1 : 1;
            var delay = TimeSpan.FromTicks(Math.Min(_settings.BackoffMax.Ticks, _settings.BackoffBase.Ticks << Math.Min(failures - 1, 20)));
            addresses[address] = new DialActor.Backoff(now + delay, failures);
        }
        if (addresses.Count == 0)
            _backoff.Remove(peer);
    }

    /// <summary>The addresses of <paramref name="peer"/> still backed off now, with when each may be dialed again.</summary>
    private IReadOnlyDictionary<Multiaddr, DialActor.Backoff> BackedOff(PeerId peer)
    {
        var now = _settings.Clock.GetUtcNow();
        if (!_backoff.TryGetValue(peer, out var addresses))
            return new Dictionary<Multiaddr, DialActor.Backoff>();
        return addresses.Where(a => a.Value.Until > now).ToDictionary(a => a.Key, a => a.Value);
    }

    /// <summary>Drops expired entries, so peers dialed once long ago are not remembered forever.</summary>
    private void PruneBackoff(DateTimeOffset now)
    {
        foreach (var (peer, addresses) in _backoff)
        {
            foreach (var (address, backoff) in addresses)
            {
                if (backoff.Until <= now)
                    addresses.Remove(address);
            }
            if (addresses.Count == 0)
                _backoff.Remove(peer);
        }
    }

    /// <summary>Starts the actor of a connection accepted or dialed; it tells us once it is up (or its dialer, for a dial).</summary>
    private void StartConnection(ConnectionActor.ConnectionStart start)
    {
        var id = new ConnectionId(++_nextConnection);
        var actor = Context.ActorOf(ConnectionActor.Props(start, id, _settings, _handlers, _materializer), $"conn-{id}");
        Context.Watch(actor);
        _upgrading.Add(actor);
    }

    /// <summary>Takes a connection that is up (secured, muxed, counted against its peer) into the table.</summary>
    private void Adopt(ConnectionInfo info, MuxedConnection connection)
    {
        var actor = info.Actor;
        if (!_upgrading.Remove(actor))
            return; // stopped meanwhile: its Terminated came first
        _connections[actor] = new LiveConnection(info, connection);
        actor.Tell(ConnectionActor.Adopted.Instance);
        _history.Remove(info.RemotePeer);
        // Only an address we dialed is worth keeping: an inbound connection's comes from an ephemeral
        // port nobody listens on, and a peer reconnecting from new ports would grow the peerstore.
        if (info.Stat.Direction == Direction.Outbound)
            _peerstore.Tell(new PeerstoreProtocol.AddAddresses(info.RemotePeer, [info.RemoteAddress], PeerstoreProtocol.Ttl.Connected));
        _peerstore.Tell(new PeerstoreProtocol.AddPublicKey(info.RemotePeer, info.RemotePublicKey));
        _peerstore.Tell(new PeerstoreProtocol.PeerConnected(info.RemotePeer));
        if (!info.Stat.Transient)
            SatisfyDirectDials(info);
        var connected = new SwarmProtocol.Connected(info);
        _connectionManager?.Tell(connected);
        Context.System.EventStream.Publish(connected);
    }

    /// <summary>
    /// A direct connection that came up another way (the peer's half of a simultaneous open, which
    /// our listener accepted) is what a pending direct dial of the peer waits for: its waiters take
    /// it now. The dial runs on; whatever it brings is adopted, or fails with nobody waiting.
    /// </summary>
    private void SatisfyDirectDials(ConnectionInfo info)
    {
        foreach (var (key, dial) in _dials)
        {
            if (key.Peer != info.RemotePeer || !key.Direct || dial.Waiters.Count == 0)
                continue;
            CancelDeadlines(dial.Waiters);
            foreach (var waiter in dial.Waiters)
                Satisfy(waiter, info);
            dial.Waiters.Clear();
        }
    }

    /// <summary>The live connections to <paramref name="peer"/>, direct ones first: a new stream goes on a direct connection when there is one.</summary>
    private List<ConnectionInfo> ConnectionsTo(PeerId peer) => _connections.Values.Select(c => c.Info).Where(c => c.RemotePeer == peer).OrderBy(c => c.Stat.Transient).ToList();

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
        foreach (var connection in _connections.Keys.Concat(_upgrading))
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
        foreach (var (key, dial) in _dials)
        {
            CancelDeadlines(dial.Waiters);
            foreach (var waiter in dial.Waiters)
                Fail(key.Peer, waiter, new DialException(key.Peer, "the network is closing"));
            Context.Stop(dial.Actor);
        }
        _dials.Clear();
        // Connections still upgrading are cut: nobody will adopt them.
        foreach (var upgrading in _upgrading)
            Context.Stop(upgrading);
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
        // Connections accepted or up while closing are not adopted: they are cut at once.
        Receive<ListenerActor.Accepted>(a => Upgrader.Accept(_materializer, a.Inbound, _settings.Upgrade).Abort(new ConnectionClosedException("the network is closing")));
        Receive<DialActor.StartAttempt>(a => Sender.Tell(new ConnectionActor.AttemptFailed(a.Address, new DialException(a.Peer, "the network is closing"))));
        Receive<ConnectionActor.Up>(u => Context.Stop(u.Info.Actor));
        Receive<DialActor.Succeeded>(d => Context.Stop(d.Info.Actor));
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
        if (_connections.Count > 0 || _upgrading.Count > 0)
            return;
        Timers.Cancel("close");
        foreach (var closer in closing.Closers)
            closer.Tell(SwarmProtocol.Closed.Instance);
        closing.Closers.Clear();
    }
}
