using System.Diagnostics.Metrics;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
using Akka.Actor;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Resources;

/// <summary>Limits for every kind of scope, with specific ones for named services, protocols and peers.</summary>
public sealed record ResourceLimits
{
    /// <summary>Everything of this node.</summary>
    public ScopeLimit System { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Connections and streams not yet attached to a peer or protocol.</summary>
    public ScopeLimit Transient { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Everything of allow-listed connections, kept apart from <see cref="System"/> so a flood of others cannot starve them.</summary>
    public ScopeLimit AllowlistedSystem { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Allow-listed connections not yet attached to a peer.</summary>
    public ScopeLimit AllowlistedTransient { get; init; } = ScopeLimit.Unlimited;

    /// <summary>
    /// The allow-list (go-libp2p's <c>WithAllowlistedMultiaddrs</c>): addresses such as
    /// <c>/ip4/1.2.3.4</c> or networks such as <c>/ip4/1.2.3.0/ipcidr/24</c>, optionally with
    /// <c>/p2p/&lt;id&gt;</c>, whose connections use the allow-listed scopes when the ordinary ones refuse.
    /// </summary>
    public IReadOnlyList<Multiaddr> Allowlist { get; init; } = [];

    /// <summary>
    /// Connections per subnet of their remote IP (go-libp2p's connection limiter); none by default
    /// here, go-libp2p's (<see cref="SubnetLimits.Default"/>) in <see cref="ResourceLimitDefaults.Scaled"/>.
    /// </summary>
    public SubnetLimits Subnets { get; init; } = SubnetLimits.None;

    /// <summary>Any service without its own limit.</summary>
    public ScopeLimit ServiceDefault { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Any protocol without its own limit.</summary>
    public ScopeLimit ProtocolDefault { get; init; } = ScopeLimit.Unlimited;

    /// <summary>One peer's share of any service without its own (go-libp2p's service peer scope).</summary>
    public ScopeLimit ServicePeerDefault { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Any peer without its own limit.</summary>
    public ScopeLimit PeerDefault { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Each connection.</summary>
    public ScopeLimit Connection { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Each stream.</summary>
    public ScopeLimit Stream { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Limits of named services.</summary>
    public IReadOnlyDictionary<string, ScopeLimit> Services { get; init; } = new Dictionary<string, ScopeLimit>();

    /// <summary>One peer's share of each named service (go-libp2p's <c>AddServicePeerLimit</c>): what no single peer may take of the service.</summary>
    public IReadOnlyDictionary<string, ScopeLimit> ServicePeers { get; init; } = new Dictionary<string, ScopeLimit>();

    /// <summary>Limits of named protocols.</summary>
    public IReadOnlyDictionary<string, ScopeLimit> Protocols { get; init; } = new Dictionary<string, ScopeLimit>();

    /// <summary>Limits of named peers.</summary>
    public IReadOnlyDictionary<PeerId, ScopeLimit> Peers { get; init; } = new Dictionary<PeerId, ScopeLimit>();
}

/// <summary>One scope's figures in a <see cref="ResourceManager.SnapshotAsync"/>.</summary>
public sealed record ScopeSnapshot(string Scope, ScopeStat Usage, ScopeLimit Limit);

/// <summary>
/// The seed's <c>ResourceManager</c>, as the front of its actors: a DAG of scope actors (system,
/// transient, services, protocols, peers, then connections, streams and spans) that approve every
/// reservation by message, all or nothing, and explain every refusal (scope, resource, amount, use
/// and limit). This object holds the limits, the allow-list and the subnet counts, and turns the
/// seed's calls into messages to <see cref="Actor"/> (<see cref="ResourceManagerActor"/>, which a
/// Swarm starts as <c>rcmgr</c>) with typed replies.
/// </summary>
public sealed class ResourceManager : IDisposable
{
    /// <summary>The meter name under which scope usage and limits are published.</summary>
    public const string MeterName = "Libp2p.ResourceManager";

    /// <summary>How long a reservation's answer is awaited before the call fails with an <see cref="Akka.Actor.AskTimeoutException"/>.</summary>
    public static TimeSpan AnswerTimeout { get; } = TimeSpan.FromSeconds(10);

    private Meter _meter;
    private bool _meterDisposed;
    private IActorRef? _actor;
    private IReadOnlyList<ScopeSnapshot> _lastSnapshot = [];
    private int _refreshing;

    /// <summary>A resource manager with <paramref name="limits"/> (unlimited when null).</summary>
    public ResourceManager(ResourceLimits? limits = null) : this(limits, counting: true) { }

    private ResourceManager(ResourceLimits? limits, bool counting)
    {
        Counting = counting;
        Limits = limits ?? new ResourceLimits();
        Allowlist = new Allowlist(Limits.Allowlist);
        Subnets = new ConnectionLimiter(Limits.Subnets);
        _meter = NewMeter();
    }

    private Meter NewMeter()
    {
        // The same figures as SnapshotAsync(), for OpenTelemetry or Prometheus exporters to pick up:
        // a gauge is read synchronously, so it reads the last snapshot and asks for a fresh one.
        var meter = new Meter(MeterName);
        meter.CreateObservableGauge("libp2p.rcmgr.memory", () => Measure(s => s.Usage.Memory), "By", "Memory reserved in each scope");
        meter.CreateObservableGauge("libp2p.rcmgr.streams", () => Measure(s => s.Usage.NumStreamsInbound + s.Usage.NumStreamsOutbound), "{stream}", "Streams counted in each scope");
        meter.CreateObservableGauge("libp2p.rcmgr.connections", () => Measure(s => s.Usage.NumConnsInbound + s.Usage.NumConnsOutbound), "{connection}", "Connections counted in each scope");
        meter.CreateObservableGauge("libp2p.rcmgr.fd", () => Measure(s => s.Usage.NumFD), "{fd}", "File descriptors counted in each scope");
        meter.CreateObservableGauge("libp2p.rcmgr.subnets", () => (long)Subnets.Tracked, "{subnet}", "Subnets and networks with connections counted by the connection limiter");
        meter.CreateObservableCounter("libp2p.rcmgr.subnet.refused", () => Subnets.Refused, "{connection}", "Connections refused because their subnet or network was full");
        return meter;
    }

    /// <summary>This manager's meter: several managers (several nodes) in one process publish separately.</summary>
    internal Meter Meter => _meter;

    /// <summary>The answers the facade waits for, and their deadline; swept by <see cref="Actor"/>.</summary>
    internal Answers Answers { get; } = new();

    /// <summary>Stops publishing metrics; done when the manager's actor stops, too.</summary>
    public void Dispose()
    {
        _meterDisposed = true;
        _meter.Dispose();
    }

    private IEnumerable<Measurement<long>> Measure(Func<ScopeSnapshot, long> value)
    {
        if (_actor is not null && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
            SnapshotAsync().ContinueWith(_ => Volatile.Write(ref _refreshing, 0), TaskScheduler.Default);
        return Volatile.Read(ref _lastSnapshot).Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("scope", s.Scope)));
    }

    /// <summary>
    /// A manager that accounts nothing and refuses nothing (the seed's <c>NullResourceManager</c>):
    /// its scopes are not actors, and every call on them returns at once. For tests, and to
    /// measure what accounting costs.
    /// </summary>
    public static ResourceManager Null() => new(null, counting: false);

    /// <summary>False for <see cref="Null"/>: reservations pass without being counted.</summary>
    public bool Counting { get; }

    /// <summary>The limits of every scope.</summary>
    public ResourceLimits Limits { get; }

    /// <summary>The addresses whose connections may use the allow-listed scopes; entries may be added at run time.</summary>
    public Allowlist Allowlist { get; }

    /// <summary>The rules and counts of connections per subnet; decided on by the limiter's actor only (<c>rcmgr/subnets</c>).</summary>
    internal ConnectionLimiter Subnets { get; private set; }

    /// <summary>
    /// The connection limiter's figures: how many subnets and networks have connections, how many
    /// connections it refused, and the <paramref name="busiest"/> subnets with their counts. Asked
    /// of the limiter's actor, so they follow every admission and release it took before.
    /// </summary>
    public async Task<SubnetsStat> ViewSubnetsAsync(int busiest = SnapshotSubnets)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(busiest);
        if (!Counting)
            return new SubnetsStat(0, 0, []);
        var answer = Answers.New<SubnetsStat>();
        Actor.Tell(new ConnectionLimiterActor.GetSubnets(busiest) { Answer = answer });
        return await answer.Task.ConfigureAwait(false);
    }

    /// <summary>The <see cref="ResourceManagerActor"/> that started with this manager.</summary>
    /// <exception cref="InvalidOperationException">None started yet (a Swarm starts one, or <see cref="Start"/>).</exception>
    public IActorRef Actor => _actor ?? throw new InvalidOperationException(
        "the resource manager has no actor: a Swarm starts it, or ResourceManager.Start does");

    /// <summary>
    /// Starts this manager's <see cref="ResourceManagerActor"/> under <paramref name="parent"/> (a
    /// Swarm does, as <c>rcmgr</c>): from then on the manager answers through it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The manager has an actor already: each Swarm needs its own manager.</exception>
    /// <param name="parent">The actor system or actor to start under.</param>
    /// <param name="name">The actor's name.</param>
    /// <param name="dispatcher">
    /// The dispatcher every scope actor runs on: by default <c>akka.libp2p.resource-manager.dispatcher</c>
    /// when the system's configuration defines it, Akka's default dispatcher otherwise (see docs/resources.md).
    /// </param>
    public IActorRef Start(IActorRefFactory parent, string name = "rcmgr", string? dispatcher = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        var system = parent switch
        {
            ActorSystem s => s,
            IActorContext c => c.System,
            _ => throw new ArgumentException($"a resource manager starts under an actor system or an actor, not a {parent.GetType().Name}", nameof(parent)),
        };
        if (Volatile.Read(ref _actor) is null)
        {
            // Started again after its actor stopped (a Swarm restarted by its supervisor): what
            // the last actor counted went with it, so the counts, the answers and the gauges
            // begin afresh.
            Subnets = new ConnectionLimiter(Limits.Subnets);
            Answers.Restart();
            if (_meterDisposed)
            {
                _meter = NewMeter();
                _meterDisposed = false;
            }
        }
        dispatcher ??= system.Dispatchers.HasDispatcher(ScopeDispatcher.Id) ? ScopeDispatcher.Id : Akka.Dispatch.Dispatchers.DefaultDispatcherId;
        var actor = parent.ActorOf(ResourceManagerActor.Props(this).WithDispatcher(dispatcher), name);
        Bind(actor);
        return actor;
    }

    private void Bind(IActorRef actor)
    {
        if (Interlocked.CompareExchange(ref _actor, actor, null) is { } other && !other.Equals(actor))
            throw new InvalidOperationException($"this resource manager already has its actor, {other.Path}; each Swarm needs its own");
    }

    internal void Unbind(IActorRef actor) => Interlocked.CompareExchange(ref _actor, null, actor);

    /// <summary>
    /// Opens a connection's scope (the seed's <c>OpenConnection</c>) for the remote
    /// <paramref name="endpoint"/> when known: counted in its subnets (<see cref="Subnets"/>) unless
    /// it is allow-listed, then against the transient and system scopes or, when those refuse and
    /// the endpoint is allow-listed, against the allow-listed ones instead. The scope closes when
    /// <paramref name="owner"/> stops, if one is given, or on its <see cref="ResourceScopeSpan.Done"/>.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">A subnet or a scope refused the connection; nothing stays reserved.</exception>
    public async Task<ConnectionManagementScope> OpenConnectionAsync(Direction direction, bool useFileDescriptor, Multiaddr? endpoint = null, IActorRef? owner = null)
    {
        if (!Counting)
            return new ConnectionManagementScope(null, null, "transient/conn", null, allowlisted: false, end: null);
        var answer = Answers.New<ScopeSpanActor.Opened>();
        Actor.Tell(new ResourceManagerActor.OpenConnection(direction, useFileDescriptor, endpoint, owner) { Answer = answer });
        var opened = await answer.Task.ConfigureAwait(false);
        return new ConnectionManagementScope(opened.Scope, Answers, opened.Name, opened.Memory, opened.Allowlisted, opened.End);
    }

    /// <summary>Opens a stream's scope, counted against its peer and the transient scope (the seed's <c>OpenStream</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">A scope refused the stream; nothing stays reserved.</exception>
    public async Task<StreamManagementScope> OpenStreamAsync(PeerId peer, Direction direction, IActorRef? owner = null)
    {
        if (!Counting)
            return new StreamManagementScope(null, null, $"peer:{peer}/stream", $"peer:{peer}", end: null);
        var answer = Answers.New<ScopeSpanActor.Opened>();
        Actor.Tell(new ResourceManagerActor.OpenStream(peer, direction, owner) { Answer = answer });
        var opened = await answer.Task.ConfigureAwait(false);
        return new StreamManagementScope(opened.Scope, Answers, opened.Name, $"peer:{peer}", opened.End);
    }

    /// <summary>The system scope's usage and limit (the seed's <c>ViewSystem</c>).</summary>
    public Task<ScopeSnapshot> ViewSystemAsync() => ViewAsync(ScopeName.System);

    /// <summary>The transient scope's usage and limit (the seed's <c>ViewTransient</c>).</summary>
    public Task<ScopeSnapshot> ViewTransientAsync() => ViewAsync(ScopeName.Transient);

    /// <summary>A service's scope (the seed's <c>ViewService</c>); nothing in use when it holds nothing.</summary>
    public Task<ScopeSnapshot> ViewServiceAsync(string service) => ViewAsync(ScopeName.Service(service));

    /// <summary>One peer's share of a service; nothing in use when it holds nothing.</summary>
    public Task<ScopeSnapshot> ViewServicePeerAsync(string service, PeerId peer) => ViewAsync(ScopeName.ServicePeer(service, peer));

    /// <summary>A protocol's scope (the seed's <c>ViewProtocol</c>); nothing in use when it holds nothing.</summary>
    public Task<ScopeSnapshot> ViewProtocolAsync(string protocol) => ViewAsync(ScopeName.Protocol(protocol));

    /// <summary>A peer's scope (the seed's <c>ViewPeer</c>); nothing in use when it holds nothing.</summary>
    public Task<ScopeSnapshot> ViewPeerAsync(PeerId peer) => ViewAsync(ScopeName.Peer(peer));

    private async Task<ScopeSnapshot> ViewAsync(ScopeName scope)
    {
        if (!Counting)
            return new ScopeSnapshot(scope.Kind switch
            {
                ScopeName.ScopeKind.System => "system",
                ScopeName.ScopeKind.Transient => "transient",
                _ => $"{scope.Kind.ToString().ToLowerInvariant()}:{scope.Name}",
            }, ScopeStat.Zero, ScopeLimit.Unlimited);
        return (await Actor.Ask<ScopeProtocol.StatIs>(new ResourceManagerActor.View(scope), AnswerTimeout).ConfigureAwait(false)).Scope;
    }

    /// <summary>How many of the busiest subnets <see cref="SnapshotAsync"/> lists.</summary>
    public const int SnapshotSubnets = 8;

    /// <summary>
    /// Every named scope's usage and limit, system first, then transient and the allow-listed pair,
    /// then the peer, protocol and service scopes by name: what a denial should be read against.
    /// Then the <see cref="SnapshotSubnets"/> busiest subnets and networks of the connection limiter
    /// (<c>subnet:/ip4/1.2.3.4/ipcidr/32</c>, <c>network:/ip4/10.0.0.0/ipcidr/8</c>), their
    /// connections against their limit. Each scope's figures are its own at the moment it answered.
    /// </summary>
    public async Task<IReadOnlyList<ScopeSnapshot>> SnapshotAsync()
    {
        if (!Counting)
            return [];
        var snapshot = (await Actor.Ask<ResourceManagerActor.SnapshotIs>(ResourceManagerActor.GetSnapshot.Instance, AnswerTimeout).ConfigureAwait(false)).Scopes;
        Volatile.Write(ref _lastSnapshot, snapshot);
        return snapshot;
    }

    /// <summary>
    /// A subnet as a snapshot row: the limit is on both directions together (<c>Conns</c>), and
    /// bounds each direction alone too, so it is shown for each.
    /// </summary>
    internal static ScopeSnapshot Row(SubnetUsage subnet) => new(
        subnet.Subnet,
        new ScopeStat(0, 0, subnet.Inbound, subnet.Outbound, 0, 0),
        subnet.Limit == int.MaxValue ? ScopeLimit.Unlimited : new ScopeLimit { Conns = subnet.Limit, ConnsInbound = subnet.Limit, ConnsOutbound = subnet.Limit });

    internal static ResourceLimitExceededException Explained(ResourceLimitExceededException e, string detail) =>
        new(e.Scope, e.Resource, e.Asked, e.Current, e.Limit, detail);
}
