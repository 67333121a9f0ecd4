using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Peer;
using static Libp2p.Actors.Swarm.ConnectionManagerProtocol;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// Keeps the node's connection count between two watermarks (go-libp2p's <c>BasicConnMgr</c>), a
/// child of the Swarm, which tells it every <see cref="SwarmProtocol.Connected"/> and
/// <see cref="SwarmProtocol.Disconnected"/> in order. Once the node holds the high watermark's
/// count it trims, at most once per silence period: it asks each connection it may close how many
/// streams it carries, closes whole peers in go's order until the low watermark, and publishes a
/// <see cref="Trimmed"/> that says whom, why, and the count before and after. Tags, protections
/// and decaying tags are messages (<see cref="ConnectionManagerProtocol"/>).
/// </summary>
public sealed class ConnectionManagerActor : ReceiveActor, IWithTimers
{
    /// <summary>How long a connection may take to say how many streams it carries before a trim counts it as none.</summary>
    private static readonly TimeSpan StreamsQueryTimeout = TimeSpan.FromSeconds(2);

    private readonly ConnectionManagerSettings _settings;
    private readonly PeerId _local;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ConnectionBook _book = new();
    private readonly List<IActorRef> _trimWaiters = [];
    private TrimCause? _trimming;
    private bool _autoTrimPending;
    private DateTimeOffset? _lastAutoTrim;
    private Trimmed? _lastTrim;
    private long _trims;

    /// <summary>The decay timer's tick: every decaying tag due by now takes one step.</summary>
    internal sealed record DecayTick
    {
        public static DecayTick Instance { get; } = new();
    }

    private sealed record CheckWatermark;
    private sealed record StreamCountsKnown(IReadOnlyDictionary<ConnectionId, int> Streams);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ConnectionManagerActor(ConnectionManagerSettings settings, PeerId local, TimeProvider clock)
    {
        _settings = settings;
        _local = local;
        _clock = clock;

        Receive<SwarmProtocol.Connected>(c =>
        {
            _book.Connected(c.Connection, Now);
            if (_book.ConnectionCount >= _settings.HighWater)
                AutoTrim();
        });
        Receive<SwarmProtocol.Disconnected>(d => _book.Disconnected(d.Connection));
        Receive<CheckWatermark>(_ =>
        {
            if (_book.ConnectionCount >= _settings.HighWater)
                AutoTrim();
        });
        Receive<TagPeer>(t => Sender.Tell(new PeerValueIs(t.Peer, _book.Tag(t.Peer, t.Tag, t.Value, Now))));
        Receive<UntagPeer>(u => Sender.Tell(new PeerValueIs(u.Peer, _book.Untag(u.Peer, u.Tag))));
        Receive<UpsertTag>(u => Sender.Tell(new PeerValueIs(u.Peer, _book.Upsert(u.Peer, u.Tag, u.Upsert, Now))));
        Receive<Protect>(p =>
        {
            _book.Protect(p.Peer, p.Tag);
            Sender.Tell(new ProtectionIs(p.Peer, true));
        });
        Receive<Unprotect>(u => Sender.Tell(new ProtectionIs(u.Peer, _book.Unprotect(u.Peer, u.Tag))));
        Receive<IsProtected>(p => Sender.Tell(new ProtectionIs(p.Peer, _book.IsProtected(p.Peer, p.Tag))));
        Receive<GetTagInfo>(g => Sender.Tell(new TagInfoIs(g.Peer, _book.TagInfo(g.Peer))));
        Receive<GetInfo>(_ => Sender.Tell(new InfoIs(new ConnectionManagerInfo(_settings, _book.ConnectionCount, _book.PeerCount, _book.ProtectedPeerCount, _trims, _lastTrim))));
        Receive<TrimOpenConns>(_ =>
        {
            _trimWaiters.Add(Sender);
            if (_trimming is null)
                StartTrim(TrimCause.Requested);
        });
        Receive<StreamCountsKnown>(k => FinishTrim(k.Streams));
        Receive<RegisterDecayingTag>(r => Decaying(r.Name, () =>
            new DecayingTagRegistered(r.Name, _book.RegisterDecaying(r.Name, r.Interval, r.Decay, r.Bump, _settings.DecayResolution, Now))));
        Receive<BumpDecayingTag>(b => Decaying(b.Name, () => new PeerValueIs(b.Peer, _book.Bump(b.Name, b.Peer, b.Delta, Now))));
        Receive<RemoveDecayingTag>(r => Decaying(r.Name, () => new PeerValueIs(r.Peer, _book.RemoveDecaying(r.Name, r.Peer))));
        Receive<CloseDecayingTag>(c => Decaying(c.Name, () =>
        {
            _book.CloseDecaying(c.Name);
            return new DecayingTagClosed(c.Name);
        }));
        Receive<DecayTick>(_ => _book.Decay(Now));
    }

    /// <summary>The connection manager of the node <paramref name="local"/>; <paramref name="clock"/> gives grace periods and decay their time.</summary>
    public static Props Props(ConnectionManagerSettings settings, PeerId local, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new ConnectionManagerActor(settings, local, clock));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => _clock.GetUtcNow();

    /// <inheritdoc />
    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("decay", DecayTick.Instance, _settings.DecayResolution);
        // As go's ticker: peers leave their grace period without any new connection to notice it.
        var interval = _settings.SilencePeriod > TimeSpan.Zero ? _settings.SilencePeriod : _settings.GracePeriod / 2;
        Timers.StartPeriodicTimer("watermark", new CheckWatermark(), interval < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : interval);
    }

    private void Decaying(string name, Func<object> command)
    {
        try
        {
            Sender.Tell(command());
        }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException)
        {
            Sender.Tell(new DecayingTagFailed(name, e));
        }
    }

    /// <summary>A trim for the high watermark: now, or once the silence period since the last one ends.</summary>
    private void AutoTrim()
    {
        if (_trimming is not null)
        {
            _autoTrimPending = true;
            return;
        }
        var since = _lastAutoTrim is { } last ? Now - last : TimeSpan.MaxValue;
        if (since < _settings.SilencePeriod)
        {
            if (!Timers.IsTimerActive("silence"))
                Timers.StartSingleTimer("silence", new CheckWatermark(), _settings.SilencePeriod - since);
            return;
        }
        _lastAutoTrim = Now;
        StartTrim(TrimCause.HighWater);
    }

    /// <summary>Asks the connections a trim may close how many streams each carries; the trim goes on with the answers (<see cref="FinishTrim"/>).</summary>
    private void StartTrim(TrimCause cause)
    {
        _trimming = cause;
        var connections = _book.Candidates(Now, _settings.GracePeriod, out _, out _)
            .SelectMany(e => e.Connections.Values.Select(c => c.Info))
            .ToList();
        if (connections.Count == 0)
        {
            FinishTrim(new Dictionary<ConnectionId, int>());
            return;
        }
        Task.WhenAll(connections.Select(async c =>
            {
                try
                {
                    var stats = await c.Actor.Ask<Conn.StatsAre>(Conn.GetStats.Instance, StreamsQueryTimeout).ConfigureAwait(false);
                    return (c.Id, stats.NumStreams);
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
                {
                    // Closing or gone: it will not be holding streams for long.
                    return (c.Id, 0);
                }
            }))
            .ContinueWith(t => new StreamCountsKnown(t.Result.ToDictionary(r => r.Id, r => r.Item2)), TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void FinishTrim(IReadOnlyDictionary<ConnectionId, int> streams)
    {
        var cause = _trimming ?? TrimCause.Requested;
        var before = _book.ConnectionCount;
        var plan = _book.PlanTrim(Now, _settings.GracePeriod, _settings.LowWater, id => streams.GetValueOrDefault(id));
        foreach (var candidate in plan.Close)
        {
            foreach (var (info, _) in candidate.Entry.Connections.Values)
                info.Actor.Tell(Conn.Close.Instance);
        }
        var closed = plan.Close.Select(c => new TrimmedPeer(c.Entry.Peer, c.Entry.Value, c.Entry.Connections.Count, c.Streams, c.Inbound)).ToArray();
        var trimmed = new Trimmed(_local, cause, Now, before, before - plan.ConnectionsToClose, closed, plan.Protected, plan.InGracePeriod, plan.Skipped);
        _trims++;
        _lastTrim = trimmed;
        if (plan.Skipped is null)
            _log.Info("{0}", trimmed);
        else
            _log.Debug("{0}", trimmed);
        Context.System.EventStream.Publish(trimmed);
        foreach (var waiter in _trimWaiters)
            waiter.Tell(trimmed);
        _trimWaiters.Clear();
        _trimming = null;
        if (_autoTrimPending)
        {
            _autoTrimPending = false;
            if (_book.ConnectionCount - plan.ConnectionsToClose >= _settings.HighWater)
                AutoTrim();
        }
    }
}
