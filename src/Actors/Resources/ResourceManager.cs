using System.Diagnostics.Metrics;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
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

    /// <summary>Any peer without its own limit.</summary>
    public ScopeLimit PeerDefault { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Each connection.</summary>
    public ScopeLimit Connection { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Each stream.</summary>
    public ScopeLimit Stream { get; init; } = ScopeLimit.Unlimited;

    /// <summary>Limits of named services.</summary>
    public IReadOnlyDictionary<string, ScopeLimit> Services { get; init; } = new Dictionary<string, ScopeLimit>();

    /// <summary>Limits of named protocols.</summary>
    public IReadOnlyDictionary<string, ScopeLimit> Protocols { get; init; } = new Dictionary<string, ScopeLimit>();

    /// <summary>Limits of named peers.</summary>
    public IReadOnlyDictionary<PeerId, ScopeLimit> Peers { get; init; } = new Dictionary<PeerId, ScopeLimit>();
}

/// <summary>One scope's figures in a <see cref="ResourceManager.Snapshot"/>.</summary>
public sealed record ScopeSnapshot(string Scope, ScopeStat Usage, ScopeLimit Limit);

/// <summary>
/// The seed's <c>ResourceManager</c>: a DAG of scopes (system, transient, services, protocols,
/// peers, then connections, streams and spans) in which every reservation is all or nothing and
/// every refusal says which scope, resource, amount, use and limit. Named scopes are made on
/// demand and dropped when nothing references them and nothing is in use.
/// </summary>
public sealed class ResourceManager : IDisposable
{
    /// <summary>The meter name under which scope usage and limits are published.</summary>
    public const string MeterName = "Libp2p.ResourceManager";

    private readonly ResourceLimits _limits;
    private readonly object _structure = new();
    private readonly Dictionary<string, NamedScope> _named = new(StringComparer.Ordinal);
    private readonly List<IScopeObserver> _observers = [];
    private long _nextId;

    /// <summary>A resource manager with <paramref name="limits"/> (unlimited when null).</summary>
    public ResourceManager(ResourceLimits? limits = null) : this(limits, counting: true) { }

    private ResourceManager(ResourceLimits? limits, bool counting)
    {
        Counting = counting;
        _limits = limits ?? new ResourceLimits();
        // The system scope gets the highest ID so it is always locked last: every chain ends there.
        SystemNode = new ScopeNode(long.MaxValue, "system", _limits.System);
        TransientNode = new ScopeNode(long.MaxValue - 1, "transient", _limits.Transient);
        AllowlistedSystemNode = new ScopeNode(long.MaxValue - 2, "allowlisted-system", _limits.AllowlistedSystem);
        AllowlistedTransientNode = new ScopeNode(long.MaxValue - 3, "allowlisted-transient", _limits.AllowlistedTransient);
        System = new NamedScope(this, SystemNode, []);
        Transient = new NamedScope(this, TransientNode, [SystemNode]);
        AllowlistedSystem = new NamedScope(this, AllowlistedSystemNode, []);
        AllowlistedTransient = new NamedScope(this, AllowlistedTransientNode, [AllowlistedSystemNode]);
        Allowlist = new Allowlist(_limits.Allowlist);
        Subnets = new ConnectionLimiter(_limits.Subnets);
        // The same figures as Snapshot(), for OpenTelemetry or Prometheus exporters to pick up.
        _meter = new Meter(MeterName);
        _meter.CreateObservableGauge("libp2p.rcmgr.memory", () => Measure(s => s.Usage.Memory), "By", "Memory reserved in each scope");
        _meter.CreateObservableGauge("libp2p.rcmgr.streams", () => Measure(s => s.Usage.NumStreamsInbound + s.Usage.NumStreamsOutbound), "{stream}", "Streams counted in each scope");
        _meter.CreateObservableGauge("libp2p.rcmgr.connections", () => Measure(s => s.Usage.NumConnsInbound + s.Usage.NumConnsOutbound), "{connection}", "Connections counted in each scope");
        _meter.CreateObservableGauge("libp2p.rcmgr.fd", () => Measure(s => s.Usage.NumFD), "{fd}", "File descriptors counted in each scope");
        _meter.CreateObservableGauge("libp2p.rcmgr.subnets", () => (long)Subnets.Tracked, "{subnet}", "Subnets and networks with connections counted by the connection limiter");
        _meter.CreateObservableCounter("libp2p.rcmgr.subnet.refused", () => Subnets.Refused, "{connection}", "Connections refused because their subnet or network was full");
    }

    private readonly Meter _meter;

    /// <summary>This manager's meter: several managers (several nodes) in one process publish separately.</summary>
    internal Meter Meter => _meter;

    /// <summary>Stops publishing metrics.</summary>
    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> Measure(Func<ScopeSnapshot, long> value) =>
        Snapshot().Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("scope", s.Scope)));

    /// <summary>
    /// A manager that accounts nothing and refuses nothing (the seed's <c>NullResourceManager</c>):
    /// for tests, and to measure what accounting costs.
    /// </summary>
    public static ResourceManager Null() => new(null, counting: false);

    /// <summary>False for <see cref="Null"/>: reservations pass without being counted.</summary>
    public bool Counting { get; }

    /// <summary>The system scope, which every other scope charges.</summary>
    public NamedScope System { get; }

    /// <summary>The transient scope, for what is not yet attached to a peer or protocol.</summary>
    public NamedScope Transient { get; }

    /// <summary>The system scope of allow-listed connections (go-libp2p's <c>allowlistedSystem</c>).</summary>
    public NamedScope AllowlistedSystem { get; }

    /// <summary>The transient scope of allow-listed connections (go-libp2p's <c>allowlistedTransient</c>).</summary>
    public NamedScope AllowlistedTransient { get; }

    /// <summary>The addresses whose connections may use the allow-listed scopes; entries may be added at run time.</summary>
    public Allowlist Allowlist { get; }

    /// <summary>The connections counted per subnet of their remote IP, and the refusals.</summary>
    public ConnectionLimiter Subnets { get; }

    internal ScopeNode SystemNode { get; }

    internal ScopeNode TransientNode { get; }

    internal ScopeNode AllowlistedSystemNode { get; }

    internal ScopeNode AllowlistedTransientNode { get; }

    /// <summary>Opens a connection's scope, counted against the transient scope (the seed's <c>OpenConnection</c>), for an endpoint not known.</summary>
    /// <exception cref="ResourceLimitExceededException">A scope refused the connection; nothing stays reserved.</exception>
    public ConnectionManagementScope OpenConnection(Direction direction, bool useFileDescriptor) => OpenConnection(direction, useFileDescriptor, null);

    /// <summary>
    /// Opens a connection's scope for the remote <paramref name="endpoint"/> (the seed's
    /// <c>OpenConnection</c>): counted in the endpoint's subnets (<see cref="Subnets"/>) unless it is
    /// allow-listed, then against the transient and system scopes, or, when those refuse and the
    /// endpoint is allow-listed, against the allow-listed ones instead.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">A subnet or a scope refused the connection; nothing stays reserved.</exception>
    public ConnectionManagementScope OpenConnection(Direction direction, bool useFileDescriptor, Multiaddr? endpoint)
    {
        var usage = new Usage(0, 0, 0, direction == Direction.Inbound ? 1 : 0, direction == Direction.Outbound ? 1 : 0, useFileDescriptor ? 1 : 0);
        // go-libp2p counts allow-listed addresses per subnet too; here they are exempt, as the
        // allow-list is meant for hosts trusted to hold many connections (see docs/resources.md).
        var subnets = !Counting || Subnets.IsEmpty || (endpoint is not null && !Allowlist.IsEmpty && Allowlist.Allowed(endpoint))
            ? null
            : Subnets.Open(endpoint, direction);
        var id = NextId();
        ResourceLimitExceededException refusal;
        try
        {
            // The scope owns the subnet lease from here: its Done gives it back, refused or not.
            return Open(new ConnectionManagementScope(this, NewNode($"transient/conn-{id}", _limits.Connection), [TransientNode, SystemNode], endpoint, allowlisted: false, subnets), usage);
        }
        catch (ResourceLimitExceededException e)
        {
            refusal = e;
        }
        if (endpoint is null || Allowlist.IsEmpty)
            throw refusal;
        // As go-libp2p: the ordinary scopes first, the allow-listed ones only for what they refused.
        if (!Allowlist.Allowed(endpoint))
            throw Explained(refusal, $"{endpoint} is not allow-listed");
        try
        {
            return Open(new ConnectionManagementScope(this, NewNode($"allowlisted-transient/conn-{id}", _limits.Connection), [AllowlistedTransientNode, AllowlistedSystemNode], endpoint, allowlisted: true), usage);
        }
        catch (ResourceLimitExceededException e)
        {
            throw Explained(e, $"{endpoint} is allow-listed, and {refusal.Scope} had refused its {refusal.Resource} too");
        }
    }

    private static ConnectionManagementScope Open(ConnectionManagementScope scope, Usage usage)
    {
        try
        {
            scope.Open(usage);
        }
        catch
        {
            scope.Done();
            throw;
        }
        return scope;
    }

    internal static ResourceLimitExceededException Explained(ResourceLimitExceededException e, string detail) =>
        new(e.Scope, e.Resource, e.Asked, e.Current, e.Limit, detail);

    /// <summary>Opens a stream's scope, counted against the peer and the transient scope (the seed's <c>OpenStream</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">A scope refused the stream; nothing stays reserved.</exception>
    public StreamManagementScope OpenStream(PeerId peer, Direction direction)
    {
        var peerScope = Peer(peer);
        StreamManagementScope scope;
        try
        {
            scope = new StreamManagementScope(this, NewNode($"{peerScope.Name}/stream-{NextId()}", _limits.Stream), [peerScope.Node, TransientNode, SystemNode], peerScope);
        }
        finally
        {
            Unretain(peerScope.Node); // the stream's scope holds its own reference now
        }
        try
        {
            scope.Open(new Usage(0, direction == Direction.Inbound ? 1 : 0, direction == Direction.Outbound ? 1 : 0, 0, 0, 0));
        }
        catch
        {
            scope.Done();
            throw;
        }
        return scope;
    }

    /// <summary>Looks at the system scope (the seed's <c>ViewSystem</c>).</summary>
    public T ViewSystem<T>(Func<ResourceScope, T> view) => view(System);

    /// <summary>Looks at the transient scope (the seed's <c>ViewTransient</c>).</summary>
    public T ViewTransient<T>(Func<ResourceScope, T> view) => view(Transient);

    /// <summary>Looks at a service's scope (the seed's <c>ViewService</c>).</summary>
    public T ViewService<T>(string service, Func<ResourceScope, T> view) => WithNamed(Service(service), view);

    /// <summary>Looks at a protocol's scope (the seed's <c>ViewProtocol</c>).</summary>
    public T ViewProtocol<T>(string protocol, Func<ResourceScope, T> view) => WithNamed(Protocol(protocol), view);

    /// <summary>Looks at a peer's scope (the seed's <c>ViewPeer</c>).</summary>
    public T ViewPeer<T>(PeerId peer, Func<ResourceScope, T> view) => WithNamed(Peer(peer), view);

    /// <summary>How many of the busiest subnets <see cref="Snapshot"/> lists.</summary>
    public const int SnapshotSubnets = 8;

    /// <summary>
    /// Every named scope's usage and limit, system first, then transient and the allow-listed pair:
    /// what a denial should be read against. Then the <see cref="SnapshotSubnets"/> busiest subnets
    /// and networks of the connection limiter (<c>subnet:/ip4/1.2.3.4/ipcidr/32</c>,
    /// <c>network:/ip4/10.0.0.0/ipcidr/8</c>), their connections against their limit.
    /// </summary>
    public IReadOnlyList<ScopeSnapshot> Snapshot()
    {
        ScopeSnapshot[] scopes;
        lock (_structure)
        {
            scopes = [
                new ScopeSnapshot(System.Name, System.Stat(), SystemNode.Limit),
                new ScopeSnapshot(Transient.Name, Transient.Stat(), TransientNode.Limit),
                new ScopeSnapshot(AllowlistedSystem.Name, AllowlistedSystem.Stat(), AllowlistedSystemNode.Limit),
                new ScopeSnapshot(AllowlistedTransient.Name, AllowlistedTransient.Stat(), AllowlistedTransientNode.Limit),
                .. _named.Values.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => new ScopeSnapshot(s.Name, s.Stat(), s.Node.Limit)),
            ];
        }
        return [.. scopes, .. Subnets.Busiest(SnapshotSubnets).Select(Row)];
    }

    /// <summary>
    /// A subnet as a snapshot row: the limit is on both directions together (<c>Conns</c>), and
    /// bounds each direction alone too, so it is shown for each.
    /// </summary>
    private static ScopeSnapshot Row(SubnetUsage subnet) => new(
        subnet.Subnet,
        new ScopeStat(0, 0, subnet.Inbound, subnet.Outbound, 0, 0),
        subnet.Limit == int.MaxValue ? ScopeLimit.Unlimited : new ScopeLimit { Conns = subnet.Limit, ConnsInbound = subnet.Limit, ConnsOutbound = subnet.Limit });

    /// <summary>
    /// Returns every named scope there is now and, until <see cref="Detach"/>, tells
    /// <paramref name="observer"/> of each one made or reclaimed after, in the order it happens
    /// (calls are made under the manager's structure lock, so they must not block: a Tell is right).
    /// </summary>
    internal IReadOnlyList<NamedScope> Attach(IScopeObserver observer)
    {
        lock (_structure)
        {
            _observers.Add(observer);
            return [System, Transient, AllowlistedSystem, AllowlistedTransient, .. _named.Values];
        }
    }

    /// <summary>Stops telling <paramref name="observer"/>.</summary>
    internal void Detach(IScopeObserver observer)
    {
        lock (_structure)
            _observers.Remove(observer);
    }

    internal NamedScope Service(string name) => Named($"service:{name}", _limits.Services.GetValueOrDefault(name) ?? _limits.ServiceDefault);

    internal NamedScope Protocol(string id) => Named($"protocol:{id}", _limits.Protocols.GetValueOrDefault(id) ?? _limits.ProtocolDefault);

    internal NamedScope Peer(PeerId peer) => Named($"peer:{peer}", _limits.Peers.GetValueOrDefault(peer) ?? _limits.PeerDefault);

    internal ScopeNode NewNode(string path, ScopeLimit limit) => new(NextId(), path, limit);

    /// <summary>The scopes a reservation in <paramref name="node"/> touches, in lock order.</summary>
    internal static ScopeNode[] Chain(ScopeNode node, ScopeNode[] above)
    {
        var chain = new ScopeNode[above.Length + 1];
        chain[0] = node;
        above.CopyTo(chain, 1);
        Array.Sort(chain, static (a, b) => a.Id.CompareTo(b.Id));
        return chain;
    }

    internal void Retain(ScopeNode node)
    {
        lock (_structure)
            node.References++;
    }

    internal void Unretain(ScopeNode node)
    {
        lock (_structure)
        {
            // The four fixed scopes hold the highest IDs and always stay.
            if (--node.References > 0 || node.Id >= AllowlistedTransientNode.Id || !node.Usage.IsZero)
                return;
            // Idle and empty: the named scope goes, and is made afresh if needed again.
            if (_named.TryGetValue(node.Path, out var current) && current.Node == node && _named.Remove(node.Path))
                foreach (var observer in _observers)
                    observer.Closed(node.Path);
        }
    }

    private NamedScope Named(string path, ScopeLimit limit)
    {
        lock (_structure)
        {
            if (!_named.TryGetValue(path, out var scope))
            {
                _named[path] = scope = new NamedScope(this, new ScopeNode(Interlocked.Increment(ref _nextId) + (1L << 40), path, limit), [SystemNode]);
                foreach (var observer in _observers)
                    observer.Opened(scope);
            }
            // Handed out retained, under the same lock that reclaims: a scope looked up cannot be
            // reclaimed before its caller retains it for good (then the caller drops this reference).
            scope.Node.References++;
            return scope;
        }
    }

    /// <summary>Runs <paramref name="view"/> on a scope <see cref="Named"/> handed out retained, and lets it go after.</summary>
    private T WithNamed<T>(NamedScope scope, Func<ResourceScope, T> view)
    {
        try
        {
            return view(scope);
        }
        finally
        {
            Unretain(scope.Node);
        }
    }

    private long NextId() => Interlocked.Increment(ref _nextId);
}
