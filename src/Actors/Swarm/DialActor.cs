using Akka.Actor;
using Akka.Streams;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;
using Libp2p.Actors.Peerstore;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// One peer being dialed (go-libp2p's dial worker): the Swarm sends every concurrent dial of the
/// peer here, so they share one attempt. It takes the addresses the dial names, or asks the
/// peerstore when it names none, ranks them, dials a few at a time, keeps the first connection that upgrades and aborts the rest, and reports to the Swarm.
/// </summary>
public sealed class DialActor : ReceiveActor, IWithTimers
{
    private readonly PeerId _peer;
    private readonly SwarmSettings _settings;
    private readonly IMaterializer _materializer;
    private readonly List<(Multiaddr Address, ITransport Transport)> _queue = [];
    private readonly List<(Multiaddr Address, Exception Error)> _failures = [];
    private readonly Dictionary<Multiaddr, (UpgradingConnection Dial, ConnectionManagementScope Scope)> _running = new();
    private readonly TimeSpan _timeout;
    private readonly IActorRef _peerstore;
    private readonly IReadOnlyList<Multiaddr> _given;
    private readonly TimeSpan _started;
    private bool _done;

    /// <summary>A connection to the peer is up; the receiver owns its scope.</summary>
    public sealed record Succeeded(PeerId Peer, MuxedConnection Connection, TransportConnection Addresses, ConnectionUpgrade Upgrade, ConnectionManagementScope Scope);

    /// <summary>Every address failed, or time ran out; the reason names each address.</summary>
    public sealed record Failed(PeerId Peer, Exception Reason);

    private sealed record AddressesKnown(IReadOnlyList<Multiaddr> Addresses);
    private sealed record AttemptUpgraded(Multiaddr Address, ConnectionUpgrade Upgrade, TransportConnection Addresses);
    private sealed record AttemptFailed(Multiaddr Address, Exception Error);
    private sealed record TimedOut;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public DialActor(PeerId peer, IReadOnlyList<Multiaddr> given, TimeSpan timeout, SwarmSettings settings, IActorRef peerstore, IMaterializer materializer)
    {
        _peer = peer;
        _settings = settings;
        _materializer = materializer;
        _timeout = timeout;
        _peerstore = peerstore;
        _given = given;
        _started = Context.System.Scheduler.MonotonicClock;

        Receive<AddressesKnown>(known => Start(known.Addresses));
        Receive<AttemptUpgraded>(u =>
        {
            if (_done)
                return;
            var winner = _running[u.Address];
            _running.Remove(u.Address);
            Context.Parent.Tell(new Succeeded(peer, winner.Dial.Connection, u.Addresses, u.Upgrade, winner.Scope));
            Finish(null);
        });
        Receive<AttemptFailed>(f =>
        {
            if (_done)
                return;
            if (_running.Remove(f.Address, out var attempt))
                attempt.Scope.Done();
            _failures.Add((f.Address, f.Error));
            if (_queue.Count == 0 && _running.Count == 0)
                Finish(AllFailed());
            else
                Launch();
        });
        Receive<TimedOut>(_ =>
        {
            // Attempts still running are named too, so the dialer sees which addresses never answered.
            foreach (var address in _running.Keys)
                _failures.Add((address, new TimeoutException($"still connecting or upgrading when the dial timed out after {timeout.TotalSeconds:0.###} s")));
            Finish(new DialException(peer, $"timed out after {timeout.TotalSeconds:0.###} s", _failures));
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        Timers.StartSingleTimer("timeout", new TimedOut(), _timeout);
        // Addresses named by the dial are all it tries: the peerstore is asked only when there are none.
        if (_given.Count > 0)
        {
            Start(_given);
            return;
        }
        _peerstore.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(_peer), TimeSpan.FromSeconds(5))
            .PipeTo(Self, success: a => new AddressesKnown(a.Addresses), failure: _ => new AddressesKnown([]));
    }

    /// <summary>A dial of <paramref name="peer"/> at <paramref name="addresses"/>, or at its peerstore addresses when none are given.</summary>
    public static Props Props(PeerId peer, IReadOnlyList<Multiaddr> addresses, TimeSpan timeout, SwarmSettings settings, IActorRef peerstore, IMaterializer materializer) =>
        Akka.Actor.Props.Create(() => new DialActor(peer, addresses, timeout, settings, peerstore, materializer));

    /// <summary>Loopback first, then private, then the rest; IPv4 before IPv6 within each (cheapest, likeliest first).</summary>
    private static IEnumerable<Multiaddr> Rank(IEnumerable<Multiaddr> addresses) => addresses
        .Select(a => a.PeerIdText is null ? a : a.Decapsulate("p2p"))
        .Distinct()
        .OrderBy(a => a.TryGetIPEndPoint(out var ep) ? (System.Net.IPAddress.IsLoopback(ep.Address) ? 0 : IsPrivate(ep.Address) ? 1 : 2) : 3)
        .ThenBy(a => a.Has("ip6") ? 1 : 0);

    private static bool IsPrivate(System.Net.IPAddress ip)
    {
        var b = ip.GetAddressBytes();
        return ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168)
            : (b[0] & 0xfe) == 0xfc || ip.IsIPv6LinkLocal;
    }

    /// <summary>Queues the addresses some transport can dial, best first, and starts dialing.</summary>
    private void Start(IEnumerable<Multiaddr> addresses)
    {
        foreach (var address in Rank(addresses))
        {
            if (_settings.Transports.FirstOrDefault(t => t.CanDial(address)) is { } transport)
                _queue.Add((address, transport));
        }
        if (_queue.Count == 0)
            Finish(new NoRemoteAddressesException(_peer));
        else
            Launch();
    }

    private void Launch()
    {
        while (_running.Count < _settings.DialParallelism && _queue.Count > 0)
        {
            var (address, transport) = _queue[0];
            _queue.RemoveAt(0);
            // Counted before dialing, as go-libp2p does, so the muxer's window growth is charged to the connection's own scope.
            ConnectionManagementScope scope;
            try
            {
                scope = _settings.Resources.OpenConnection(Direction.Outbound, useFileDescriptor: true, address);
            }
            catch (ResourceLimitExceededException e)
            {
                _failures.Add((address, e));
                continue;
            }
            try
            {
                // The connect may take what is left of the dial's time, no more and no less.
                var dial = Upgrader.Dial(Context.System, _materializer, transport, address, _settings.Upgrade with { Memory = new ScopeMemoryAccount(scope) }, _peer, Remaining());
                _running[address] = (dial, scope);
                // Both settle: a refused connect closes the stage before the transport's task faults,
                // and only the transport's error says "connection refused".
                Task.WhenAll(dial.Connection.Upgraded, dial.Transport).ContinueWith(_ => dial.Connection.Upgraded.IsCompletedSuccessfully && dial.Transport.IsCompletedSuccessfully
                        ? (object)new AttemptUpgraded(address, dial.Connection.Upgraded.Result, dial.Transport.Result)
                        // The transport's own error says more than the connection it never became.
                        : new AttemptFailed(address, dial.Transport.Exception?.GetBaseException() ?? dial.Connection.Upgraded.Exception?.GetBaseException() ?? new TimeoutException("cancelled")),
                        TaskScheduler.Default)
                    .PipeTo(Self);
            }
            catch (Exception e)
            {
                // Whatever stopped the dial from starting (a transport error, a materializer already
                // shut down), the scope opened for it is given back.
                scope.Done();
                _failures.Add((address, e));
            }
        }
        if (_running.Count == 0 && _queue.Count == 0 && !_done)
            Finish(AllFailed());
    }

    private TimeSpan Remaining()
    {
        var left = _timeout - (Context.System.Scheduler.MonotonicClock - _started);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    /// <summary>When the resource manager refused every address, its refusal is the explanation the dialer gets.</summary>
    private Exception AllFailed() =>
        _failures.Count > 0 && _failures.TrueForAll(f => f.Error is ResourceLimitExceededException)
            ? _failures[0].Error
            : new DialException(_peer, "all addresses failed", _failures);

    private void Finish(Exception? error)
    {
        if (_done)
            return;
        _done = true;
        if (error is not null)
            Context.Parent.Tell(new Failed(_peer, error));
        Context.Stop(Self);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Losers of the race, and attempts cut off by the timeout, are aborted.
        foreach (var (dial, scope) in _running.Values)
        {
            dial.Connection.Abort(new DialException(_peer, "another address won, or the dial ended"));
            scope.Done();
        }
    }
}
