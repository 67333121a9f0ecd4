using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Connections;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;
using Libp2p.Actors.Peerstore;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// One peer being dialed (go-libp2p's dial worker): the Swarm sends every concurrent dial of the
/// peer here, so they share one attempt. It takes the addresses the dial names, or asks the
/// peerstore when it names none, ranks them, has the Swarm start a <see cref="ConnectionActor"/> per
/// address, a few at a time, keeps the first connection that comes up and reports it to the Swarm.
/// The other attempts watch it and end when it stops.
/// </summary>
public sealed class DialActor : ReceiveActor, IWithTimers
{
    private readonly PeerId _peer;
    private readonly SwarmSettings _settings;
    private readonly List<(Multiaddr Address, ITransport Transport)> _queue = [];
    private readonly List<(Multiaddr Address, Exception Error)> _failures = [];
    private readonly HashSet<Multiaddr> _running = [];
    // From the dial's start to its deadline; a later waiter with a later deadline extends it.
    private TimeSpan _timeout;
    // The timeout of the waiter whose deadline the dial's is: what its failure says it timed out after.
    private TimeSpan _reported;
    private readonly IActorRef _peerstore;
    private readonly IReadOnlyList<Multiaddr> _given;
    private readonly TimeSpan _started;
    private readonly IReadOnlyDictionary<Multiaddr, Backoff> _backedOff;
    private readonly DialOptions _options;
    private bool _done;

    /// <summary>A connection to the peer is up, its actor chosen among the attempts; the receiver adopts it.</summary>
    public sealed record Succeeded(PeerId Peer, ConnectionInfo Info, MuxedConnection Connection);

    /// <summary>
    /// Asks the Swarm (the parent) for a <see cref="ConnectionActor"/> dialing <paramref name="Address"/>
    /// for this dial: connections are the Swarm's children, each an actor from its first byte.
    /// </summary>
    public sealed record StartAttempt(PeerId Peer, Multiaddr Address, ITransport Transport, TimeSpan Timeout)
    {
        /// <summary>Whether the attempt leads the upgrade (false only for the server's side of a simultaneous connect).</summary>
        public bool Initiator { get; init; } = true;
    }

    /// <summary>Every address failed, or time ran out; the reason names each address.</summary>
    public sealed record Failed(PeerId Peer, Exception Reason);

    /// <summary>An address that failed <paramref name="Failures"/> times in a row is not dialed again before <paramref name="Until"/>.</summary>
    public sealed record Backoff(DateTimeOffset Until, int Failures);

    /// <summary>
    /// A request that joined this dial may wait <paramref name="Timeout"/> from now: the dial runs
    /// at least that long (each caller keeps its own timeout, as the seed's <c>WithDialPeerTimeout</c>;
    /// the Swarm fails a waiter whose deadline comes sooner).
    /// </summary>
    public sealed record ExtendTimeout(TimeSpan Timeout);

    private sealed record AddressesKnown(IReadOnlyList<Multiaddr> Addresses);
    private sealed record TimedOut;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public DialActor(PeerId peer, IReadOnlyList<Multiaddr> given, TimeSpan timeout, SwarmSettings settings, IActorRef peerstore,
        IReadOnlyDictionary<Multiaddr, Backoff> backedOff, DialOptions options)
    {
        _options = options;
        _backedOff = backedOff;
        _peer = peer;
        _settings = settings;
        _timeout = _reported = timeout;
        _peerstore = peerstore;
        _given = given;
        _started = Context.System.Scheduler.MonotonicClock;

        Receive<AddressesKnown>(known => Start(known.Addresses));
        Receive<ConnectionActor.Up>(u =>
        {
            if (_done)
                return;
            _running.Remove(u.DialedAddress!);
            // Chosen before this dial stops: the other attempts end with it, the winner does not.
            Sender.Tell(ConnectionActor.Chosen.Instance);
            Context.Parent.Tell(new Succeeded(peer, u.Info, u.Connection));
            Finish(null);
        });
        Receive<ConnectionActor.AttemptFailed>(f =>
        {
            if (_done || !_running.Remove(f.Address))
                return;
            _failures.Add((f.Address, f.Error));
            if (_queue.Count == 0 && _running.Count == 0)
                Finish(AllFailed());
            else
                Launch();
        });
        Receive<ExtendTimeout>(extend =>
        {
            var elapsed = Context.System.Scheduler.MonotonicClock - _started;
            if (_done || elapsed + extend.Timeout <= _timeout)
                return;
            (_timeout, _reported) = (elapsed + extend.Timeout, extend.Timeout);
            Timers.StartSingleTimer("timeout", new TimedOut(), extend.Timeout);
        });
        Receive<TimedOut>(_ =>
        {
            // Attempts still running are named too, so the dialer sees which addresses never answered.
            foreach (var address in _running)
                _failures.Add((address, new TimeoutException($"still connecting or upgrading when the dial timed out after {_reported.TotalSeconds:0.###} s")));
            Finish(new DialException(peer, $"timed out after {_reported.TotalSeconds:0.###} s", _failures));
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        Timers.StartSingleTimer("timeout", new TimedOut(), _timeout);
        if (_settings.Gater?.InterceptPeerDial(_peer) is { Allowed: false } verdict)
        {
            var gated = Gated(GaterHook.InterceptPeerDial, null, verdict.Refusal!);
            Finish(new DialException(_peer, gated.Message, inner: gated));
            return;
        }
        // Addresses named by the dial are all it tries: the peerstore is asked only when there are none.
        if (_given.Count > 0)
        {
            Start(_given);
            return;
        }
        _peerstore.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(_peer), TimeSpan.FromSeconds(5))
            .PipeTo(Self, success: a => new AddressesKnown(a.Addresses), failure: _ => new AddressesKnown([]));
    }

    /// <summary>
    /// A dial of <paramref name="peer"/> at <paramref name="addresses"/>, or at its peerstore addresses
    /// when none are given, skipping those in <paramref name="backedOff"/> (keyed without <c>/p2p</c>).
    /// With <see cref="DialOptions.ForceDirectDial"/> relayed addresses are never dialed; with
    /// <see cref="DialOptions.SimultaneousConnect"/> each attempt takes the upgrade role it gives.
    /// </summary>
    public static Props Props(PeerId peer, IReadOnlyList<Multiaddr> addresses, TimeSpan timeout, SwarmSettings settings, IActorRef peerstore,
        IReadOnlyDictionary<Multiaddr, Backoff>? backedOff = null, DialOptions? options = null) =>
        Akka.Actor.Props.Create(() => new DialActor(peer, addresses, timeout, settings, peerstore, backedOff ?? new Dictionary<Multiaddr, Backoff>(), options ?? DialOptions.Default));

    /// <summary>Loopback first, then private, then the rest; IPv4 before IPv6 within each (cheapest, likeliest first).</summary>
    private static IEnumerable<Multiaddr> Rank(IEnumerable<Multiaddr> addresses) => addresses
        // Only a trailing /p2p is the dialed peer's: in a relayed address the one before /p2p-circuit is the relay's.
        .Select(a => a.IsEmpty || a.Components[^1].Protocol != MultiaddrProtocol.P2p ? a : a.Decapsulate("p2p"))
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
        var waiting = new List<Backoff>();
        var untransported = new List<Multiaddr>();
        var relayed = new List<Multiaddr>();
        foreach (var address in Rank(addresses))
        {
            // A direct dial (go's WithForceDirectDial) wants a connection that is not relayed: such an address cannot give one.
            if (_options.ForceDirectDial is not null && address.Has(MultiaddrProtocol.P2pCircuit))
                relayed.Add(address);
            else if (_backedOff.TryGetValue(address, out var backoff))
                waiting.Add(backoff);
            else if (_settings.Transports.FirstOrDefault(t => t.CanDial(address)) is { } transport)
            {
                if (_settings.Gater?.InterceptAddrDial(_peer, address) is { Allowed: false } verdict)
                    _failures.Add((address, Gated(GaterHook.InterceptAddrDial, address, verdict.Refusal!)));
                else
                    _queue.Add((address, transport));
            }
            else
                untransported.Add(address);
        }
        if (_queue.Count > 0)
            Launch();
        else if (_failures.Count > 0)
            Finish(AllFailed());
        else if (waiting.Count > 0)
            Finish(BackoffFailure(waiting));
        else if (untransported.Count > 0)
            Finish(new NoTransportException(_peer, untransported));
        else if (relayed.Count > 0)
            Finish(new DialException(_peer, $"a direct dial ({_options.ForceDirectDial}) has only relayed addresses: {string.Join(", ", relayed)}"));
        else
            Finish(new NoRemoteAddressesException(_peer));
    }

    /// <summary>Every address is backed off: says how many, and how long until the first may be dialed again.</summary>
    private DialException BackoffFailure(List<Backoff> waiting)
    {
        var wait = waiting.Min(b => b.Until) - _settings.Clock.GetUtcNow();
        var seconds = Math.Max(0.1, Math.Ceiling(wait.TotalSeconds * 10) / 10);
        var failures = waiting.Max(b => b.Failures);
        return new DialException(_peer, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"dial backoff: {(waiting.Count == 1 ? "the address" : $"all {waiting.Count} addresses")} failed {(failures == 1 ? "once" : $"{failures} times")} lately; retry in {seconds:0.0} s"));
    }

    private void Launch()
    {
        while (_running.Count < _settings.DialParallelism && _queue.Count > 0)
        {
            var (address, transport) = _queue[0];
            _queue.RemoveAt(0);
            // The connect may take what is left of the dial's time, no more and no less. The attempt's
            // actor counts it before dialing, as go-libp2p does, and reports here how it went.
            _running.Add(address);
            Context.Parent.Tell(new StartAttempt(_peer, address, transport, Remaining()) { Initiator = _options.SimultaneousConnect is not { IsClient: false } });
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

    /// <summary>The gater refused: the Swarm counts and publishes it, and the dialer gets the reason.</summary>
    private ConnectionGatedException Gated(GaterHook hook, Multiaddr? address, string reason)
    {
        Context.GetLogger().Info("the gater refused dialing {0}{1} at {2}: {3}", _peer, address is null ? "" : $" at {address}", hook, reason);
        Context.Parent.Tell(new SwarmProtocol.ConnectionGated(PeerId.FromPublicKey(_settings.Identity.PublicKey), hook, Direction.Outbound, _peer, address, reason));
        return new ConnectionGatedException(hook, reason, _peer, address);
    }

    private void Finish(Exception? error)
    {
        if (_done)
            return;
        _done = true;
        if (error is not null)
            Context.Parent.Tell(new Failed(_peer, error));
        Context.Stop(Self);
    }

}
