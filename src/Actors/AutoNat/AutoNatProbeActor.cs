using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using ResponseStatus = Libp2p.Protocols.AutoNat.Pb.DialResponse.Types.ResponseStatus;

namespace Libp2p.Actors.AutoNat;

/// <summary>
/// Periodic AutoNAT v2: asks connected peers that serve <see cref="AutoNatV2.DialRequestProtocolId"/>
/// (as identify said) to dial this node back at the address manager's candidates, one check at a
/// time, and hands each result to the <see cref="ReachabilityTrackerActor"/> (the Public/Private
/// verdict) and the <see cref="AddressManagerActor"/> (confirmed and unreachable addresses).
/// Rounds start <see cref="AutoNatProbeSettings.FirstDelay"/> after start or a new server, follow
/// each other every <see cref="AutoNatProbeSettings.RetryInterval"/> while there is work (an
/// unchecked address, fewer than <see cref="AutoNatProbeSettings.Confidence"/> servers asked this
/// interval), then rest for <see cref="AutoNatProbeSettings.Interval"/>. With no server to ask the
/// wait doubles from the retry interval up to the interval. A server whose check fails is left
/// alone for <see cref="AutoNatProbeSettings.ServerBackoff"/>, doubling per failure in a row.
/// Every step has a deadline: the asks, and each check its <see cref="AutoNatProbeSettings.CheckTimeout"/>.
/// </summary>
public sealed class AutoNatProbeActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private readonly PeerId _local;
    private readonly Func<PeerId, IReadOnlyList<Multiaddr>, CancellationToken, Task<AutoNatResult>> _check;
    private readonly IActorRef _swarm;
    private readonly IActorRef _addresses;
    private readonly IActorRef _tracker;
    private readonly AutoNatProbeSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<PeerId> _servers = [];
    private readonly Dictionary<PeerId, AutoNatProbeProtocol.ServerBackoff> _backoff = [];
    private readonly Dictionary<PeerId, DateTimeOffset> _asked = [];
    private readonly Dictionary<PeerId, HashSet<Multiaddr>> _askedWith = [];
    private readonly Dictionary<PeerId, DateTimeOffset> _refused = [];
    private TimeSpan _idleWait;
    private bool _running;
    private long _checks;
    private long _failures;
    private long _refusals;
    private string? _lastFailure;

    private sealed record Round;
    private sealed record RoundInput(IReadOnlyList<PeerId> Connected, AddressManagerProtocol.AutoNatCandidatesAre Candidates);
    private sealed record RoundFailed(Exception Reason);
    private sealed record Answered(AutoNatResult Result, IReadOnlyList<Multiaddr> Asked);
    private sealed record Failed(PeerId Server, IReadOnlyList<Multiaddr> Asked, Exception Reason);
    private sealed record Refused(PeerId Server, IReadOnlyList<Multiaddr> Asked);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public AutoNatProbeActor(PeerId local, Func<PeerId, IReadOnlyList<Multiaddr>, CancellationToken, Task<AutoNatResult>> check, IActorRef swarm, IActorRef addresses, IActorRef tracker, AutoNatProbeSettings settings)
    {
        _local = local;
        _check = check;
        _swarm = swarm;
        _addresses = addresses;
        _tracker = tracker;
        _settings = settings;
        _idleWait = settings.RetryInterval;
        Receive<AutoNatProbeProtocol.PeerProtocols>(p =>
        {
            if (!p.Protocols.Contains(AutoNatV2.DialRequestProtocolId))
            {
                _servers.Remove(p.Peer);
                return;
            }
            if (_servers.Add(p.Peer) && !_running)
            {
                _idleWait = _settings.RetryInterval;
                Schedule(_settings.FirstDelay);
            }
        });
        Receive<AutoNatProbeProtocol.ProbeNow>(_ => StartRound());
        Receive<Round>(_ => StartRound());
        Receive<RoundInput>(Run);
        Receive<RoundFailed>(f =>
        {
            _running = false;
            _log.Warning("autonat probe: {0}", f.Reason.Message);
            Schedule(_settings.RetryInterval);
        });
        Receive<Answered>(a =>
        {
            _running = false;
            var server = a.Result.Server;
            _tracker.Tell(new ReachabilityTrackerProtocol.Record(a.Result));
            Context.System.EventStream.Publish(new AutoNatChecked(_local, a.Result));
            if (!a.Result.Reachable && !a.Result.Unreachable)
            {
                // E_DIAL_BACK_ERROR: the server connected but the nonce did not come through. Nothing
                // learned about the address; the server is left alone as after a failure.
                Backoff(server, $"{AutoNatV2.NameOf(a.Result.Status)} at {a.Result.Address}");
                return;
            }
            _checks++;
            _backoff.Remove(server);
            _asked[server] = _settings.Clock.GetUtcNow();
            _askedWith[server] = [.. a.Asked];
            _addresses.Tell(new AddressManagerProtocol.Checked(a.Result));
            _log.Debug("autonat probe: {0} dialed {1}: {2}", server, a.Result.Address, AutoNatV2.NameOf(a.Result.Status));
            Schedule(_settings.RetryInterval);
        });
        Receive<Failed>(f => Backoff(f.Server, $"{f.Reason.GetType().Name}: {f.Reason.Message}"));
        Receive<Refused>(r =>
        {
            // E_DIAL_REFUSED: the server would dial none of these addresses (private ones, say). Its
            // answer about them, not its failure (go-libp2p reads it so too): no backoff, and it is
            // not asked about them again this interval, only about addresses it has not seen.
            _running = false;
            _refusals++;
            _backoff.Remove(r.Server);
            _refused[r.Server] = _settings.Clock.GetUtcNow();
            if (!_askedWith.TryGetValue(r.Server, out var asked))
                _askedWith[r.Server] = asked = [];
            asked.UnionWith(r.Asked);
            _log.Debug("autonat probe: {0} refused to dial any of {1}", r.Server, string.Join(", ", r.Asked));
            Schedule(_settings.RetryInterval);
        });
        Receive<AutoNatProbeProtocol.GetProbeState>(_ => Sender.Tell(new AutoNatProbeProtocol.ProbeStateIs(
            [.. _servers], [.. _backoff.Values], _checks, _failures, _refusals, _lastFailure)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// A prober for <paramref name="local"/> that checks with <paramref name="check"/> (the host passes <see cref="AutoNatClient.CheckAsync"/>),
    /// reads connected peers from <paramref name="swarm"/> and candidates from <paramref name="addresses"/>,
    /// and reports to <paramref name="tracker"/> and <paramref name="addresses"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The settings cannot work; the message says why.</exception>
    public static Props Props(PeerId local, Func<PeerId, IReadOnlyList<Multiaddr>, CancellationToken, Task<AutoNatResult>> check, IActorRef swarm, IActorRef addresses, IActorRef tracker, AutoNatProbeSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(swarm);
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(tracker);
        settings ??= AutoNatProbeSettings.Default;
        if (settings.Problem() is { } problem)
            throw new ArgumentException(problem, nameof(settings));
        return Akka.Actor.Props.Create(() => new AutoNatProbeActor(local, check, swarm, addresses, tracker, settings));
    }

    /// <inheritdoc />
    protected override void PreStart() => Schedule(_settings.FirstDelay);

    private void Backoff(PeerId server, string reason)
    {
        _running = false;
        _failures++;
        _lastFailure = $"{server}: {reason}";
        var failures = (_backoff.GetValueOrDefault(server)?.Failures ?? 0) + 1;
        var wait = _settings.ServerBackoff * Math.Min(16, 1 << Math.Min(failures - 1, 4));
        _backoff[server] = new AutoNatProbeProtocol.ServerBackoff(server, failures, _settings.Clock.GetUtcNow() + wait);
        _log.Info("autonat probe: {0} failed ({1}); not asked again for {2}", server, reason, wait);
        Schedule(_settings.RetryInterval);
    }

    private void Schedule(TimeSpan after) => Timers.StartSingleTimer(nameof(Round), new Round(), after);

    private void StartRound()
    {
        if (_running)
            return;
        _running = true;
        Timers.Cancel(nameof(Round));
        GatherAsync(_swarm, _addresses).PipeTo(Self, failure: e => new RoundFailed(e));
    }

    private static async Task<RoundInput> GatherAsync(IActorRef swarm, IActorRef addresses)
    {
        var peers = await swarm.Ask<SwarmProtocol.PeersAre>(SwarmProtocol.GetPeers.Instance, AskTimeout).ConfigureAwait(false);
        var candidates = await addresses.Ask<AddressManagerProtocol.AutoNatCandidatesAre>(AddressManagerProtocol.GetAutoNatCandidates.Instance, AskTimeout).ConfigureAwait(false);
        return new RoundInput(peers.Peers, candidates);
    }

    private void Run(RoundInput input)
    {
        var now = _settings.Clock.GetUtcNow();
        var connected = input.Connected.ToHashSet();
        Forget(connected, now);
        var eligible = _servers.Where(s => connected.Contains(s) && !(_backoff.TryGetValue(s, out var b) && b.Until > now))
            .OrderBy(s => _asked.TryGetValue(s, out var at) ? at : DateTimeOffset.MinValue).ToList();
        if (input.Candidates.Addresses.Count == 0 || eligible.Count == 0)
        {
            // Nothing to ask about, or nobody to ask: wait longer each time, up to the interval, but
            // no longer than until a connected server's backoff is over (a lone server that failed
            // once is asked again when its backoff ends, not up to a doubled wait after).
            _running = false;
            var backoffOver = _servers.Where(connected.Contains).Select(s => _backoff.TryGetValue(s, out var b) ? b.Until - now : TimeSpan.MaxValue)
                .Where(left => left > TimeSpan.Zero).DefaultIfEmpty(TimeSpan.MaxValue).Min();
            Schedule(backoffOver < _idleWait ? backoffOver : _idleWait);
            _idleWait = _idleWait * 2 > _settings.Interval ? _settings.Interval : _idleWait * 2;
            return;
        }
        _idleWait = _settings.RetryInterval;
        // A server is asked again within the interval only about addresses it was not asked about:
        // one a server will not dial (a private one) stays unchecked, and must not keep us asking.
        var askedThisInterval = _asked.Count(a => now - a.Value < _settings.Interval);
        var pending = input.Candidates.Addresses.Take(input.Candidates.Unchecked).ToList();
        bool Due(PeerId s) => (!_asked.TryGetValue(s, out var at) || now - at >= _settings.Interval)
            && (!_refused.TryGetValue(s, out var refusedAt) || now - refusedAt >= _settings.Interval);
        bool HasNew(PeerId s) => !_askedWith.TryGetValue(s, out var asked) || pending.Any(a => !asked.Contains(a));
        var server = eligible.FirstOrDefault(s => Due(s) && (askedThisInterval < _settings.Confidence || HasNew(s))) ?? eligible.FirstOrDefault(HasNew);
        if (server is null)
        {
            _running = false;
            Schedule(_settings.Interval);
            return;
        }
        var (check, timeout, addresses) = (_check, _settings.CheckTimeout, input.Candidates.Addresses);
        CheckAsync(check, server, addresses, timeout).PipeTo(Self, success: r => new Answered(r, addresses),
            failure: e => e is AutoNatException { Status: ResponseStatus.EDialRefused } ? new Refused(server, addresses) : new Failed(server, addresses, e));
    }

    /// <summary>
    /// Lets go of servers that are no longer connected once nothing about them still counts (their
    /// last answer or refusal is an interval old, their backoff is over): over weeks every peer
    /// that served AutoNAT would stay otherwise. Identify names a server again when it comes back.
    /// </summary>
    private void Forget(HashSet<PeerId> connected, DateTimeOffset now)
    {
        _servers.RemoveWhere(s => !connected.Contains(s));
        Prune(_asked, at => now - at >= _settings.Interval);
        Prune(_refused, at => now - at >= _settings.Interval);
        Prune(_backoff, b => b.Until <= now);
        foreach (var gone in _askedWith.Keys.Where(s => !_asked.ContainsKey(s) && !_refused.ContainsKey(s)).ToList())
            _askedWith.Remove(gone);

        void Prune<T>(Dictionary<PeerId, T> entries, Func<T, bool> over)
        {
            foreach (var gone in entries.Where(e => !connected.Contains(e.Key) && over(e.Value)).Select(e => e.Key).ToList())
                entries.Remove(gone);
        }
    }

    private static async Task<AutoNatResult> CheckAsync(Func<PeerId, IReadOnlyList<Multiaddr>, CancellationToken, Task<AutoNatResult>> check, PeerId server, IReadOnlyList<Multiaddr> addresses, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            // WaitAsync too: a check that ignored its token still ends at the deadline.
            return await check(server, addresses, deadline.Token).WaitAsync(timeout + TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"autonat check with {server} timed out after {timeout.TotalSeconds:0.###} s");
        }
    }
}
