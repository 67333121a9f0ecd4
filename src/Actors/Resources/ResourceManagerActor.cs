using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using static Libp2p.Actors.Resources.ScopeProtocol;

namespace Libp2p.Actors.Resources;

/// <summary>
/// The resource DAG as actors (<c>rcmgr</c> under the Swarm): <c>system</c> with its children
/// <c>transient</c> and each <c>peer-…</c>, <c>protocol-…</c> and <c>service-…</c> scope while it
/// holds something, <c>allowlisted-system</c> with <c>allowlisted-transient</c>, and one
/// <see cref="ScopeSpanActor"/> per open connection and stream scope (<c>conn-…</c>,
/// <c>stream-…</c>, their spans under them). Every reservation is approved by the scope actors it
/// passes, by message; no lock decides one.
/// </summary>
public sealed class ResourceManagerActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private readonly ResourceManager _manager;
    private readonly IActorRef _system;
    private readonly IActorRef _allowlistedSystem;
    private readonly IActorRef _subnets;
    private IActorRef? _transient;
    private IActorRef? _allowlistedTransient;
    private ScopeSpanActor.ScopeDirectory? _directory;
    private long _next;

    /// <summary>Opens a connection's scope; answered with <see cref="ScopeSpanActor.Opened"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record OpenConnection(Direction Direction, bool UseFileDescriptor, Multiaddr? Endpoint, IActorRef? Owner)
    {
        internal IAnswer? Answer { get; init; }
    }

    /// <summary>Opens a stream's scope; answered with <see cref="ScopeSpanActor.Opened"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record OpenStream(PeerId Peer, Direction Direction, IActorRef? Owner)
    {
        internal IAnswer? Answer { get; init; }
    }

    /// <summary>Asks for one named scope's usage and limit (the seed's <c>ViewSystem</c>, <c>ViewPeer</c>, …); answered with <see cref="ScopeProtocol.StatIs"/>.</summary>
    public sealed record View(ScopeName Scope);

    /// <summary>Asks for every named scope's usage and limit and the busiest subnets; answered with <see cref="SnapshotIs"/>.</summary>
    public sealed record GetSnapshot
    {
        /// <summary>The message.</summary>
        public static GetSnapshot Instance { get; } = new();
    }

    /// <summary>The snapshot, in <see cref="ResourceManager.SnapshotAsync"/>'s order.</summary>
    public sealed record SnapshotIs(IReadOnlyList<ScopeSnapshot> Scopes);

    private sealed record Started(IActorRef Transient, IActorRef AllowlistedTransient);

    /// <summary>Time to fail the facade's answers past their deadline.</summary>
    private sealed record SweepAnswers
    {
        public static SweepAnswers Instance { get; } = new();
    }

    /// <summary>The facade waits for an answer again, after none: the sweep resumes.</summary>
    private sealed record AnswersOpened
    {
        public static AnswersOpened Instance { get; } = new();
    }

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ResourceManagerActor(ResourceManager manager)
    {
        _manager = manager;
        var limits = manager.Limits;
        _system = Context.ActorOf(ScopeActor.Props("system", limits.System, reclaimable: false, [("transient", limits.Transient)]).OnDispatcherOf(Context), "system");
        _allowlistedSystem = Context.ActorOf(ScopeActor.Props("allowlisted-system", limits.AllowlistedSystem, reclaimable: false,
            [("allowlisted-transient", limits.AllowlistedTransient)]).OnDispatcherOf(Context), "allowlisted-system");
        _subnets = Context.ActorOf(ConnectionLimiterActor.Props(manager.Subnets).OnDispatcherOf(Context), "subnets");

        Receive<Started>(s =>
        {
            _transient = s.Transient;
            _allowlistedTransient = s.AllowlistedTransient;
            _directory = new ScopeSpanActor.ScopeDirectory(_system, s.Transient, _allowlistedSystem, s.AllowlistedTransient, manager);
            Become(Running);
            Stash.UnstashAll();
        });
        Receive<Status.Failure>(f => throw new InvalidOperationException("the resource scopes did not start", f.Cause));
        Receive<SweepAnswers>(_ => Sweep());
        Receive<AnswersOpened>(_ => StartSweeping());
        ReceiveAny(_ => Stash.Stash());
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The scope actors of <paramref name="manager"/>; <see cref="ResourceManager.Start"/> makes them and binds the manager to them.</summary>
    internal static Props Props(ResourceManager manager) => Akka.Actor.Props.Create(() => new ResourceManagerActor(manager));

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        // A scope that fails is stopped, never restarted: a restart would lose its counters, or open
        // a connection's scope twice. What it held comes back through the DeathWatch of the scopes above.
        new OneForOneStrategy(_ => Directive.Stop);

    /// <inheritdoc />
    protected override void PreStart()
    {
        var timeout = TimeSpan.FromSeconds(10);
        var transient = _system.Ask<ScopeActor.ChildIs>(new ScopeActor.GetChild("transient"), timeout);
        var allowlisted = _allowlistedSystem.Ask<ScopeActor.ChildIs>(new ScopeActor.GetChild("allowlisted-transient"), timeout);
        Task.WhenAll(transient, allowlisted).PipeTo(Self, success: _ => new Started(transient.Result.Child!, allowlisted.Result.Child!));
        // One timer for every answer the facade waits for, in place of one per request, and only
        // while one is waited for: ticking for nothing kept an idle node's thread pool awake.
        var self = Self;
        _manager.Answers.FirstOpened = () => self.Tell(AnswersOpened.Instance);
        StartSweeping();
    }

    private void StartSweeping()
    {
        if (Timers.IsTimerActive(SweepAnswers.Instance))
            return;
        Timers.StartPeriodicTimer(SweepAnswers.Instance, SweepAnswers.Instance, TimeSpan.FromSeconds(1));
        _manager.Answers.Sweeping = true;
    }

    private void Sweep()
    {
        _manager.Answers.Sweep(Environment.TickCount64);
        // An answer opened after this look tells this actor again (FirstOpened), which restarts it.
        if (_manager.Answers.Open > 0)
            return;
        Timers.Cancel(SweepAnswers.Instance);
        _manager.Answers.Sweeping = false;
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _manager.Answers.Stop();
        _manager.Unbind(Self);
        // The manager lives as long as its actor: its gauges stop with it, whoever stopped it.
        _manager.Dispose();
    }

    private void Running()
    {
        Receive<SweepAnswers>(_ => Sweep());
        Receive<AnswersOpened>(_ => StartSweeping());
        Receive<OpenConnection>(o =>
        {
            var endpoint = o.Endpoint;
            // go-libp2p counts allow-listed addresses per subnet too; here they are exempt, as the
            // allow-list is meant for hosts trusted to hold many connections (see docs/resources.md).
            // An endpoint without an IP is not counted either: the limiter is not asked.
            var counted = !_manager.Subnets.IsEmpty && Allowlist.IpOf(endpoint) is not null
                && !(!_manager.Allowlist.IsEmpty && _manager.Allowlist.Allowed(endpoint!));
            var id = ++_next;
            var opening = new ScopeSpanActor.Opening(ScopeSpanActor.ScopeKind.Connection, $"transient/conn-{id}", _manager.Limits.Connection,
                Usage.OfConnection(o.Direction, o.UseFileDescriptor),
                [(ScopeSpanActor.SystemRank, new Step(_system)), (ScopeSpanActor.TransientRank, new Step(_transient!))], new ReplyTo(Sender, o.Answer), o.Owner)
            {
                Endpoint = endpoint,
                Subnets = counted ? _subnets : null,
            };
            Context.ActorOf(ScopeSpanActor.Props(opening, _directory!).OnDispatcherOf(Context), $"conn-{id}");
        });
        Receive<OpenStream>(o =>
        {
            var id = ++_next;
            var limits = _manager.Limits;
            var opening = new ScopeSpanActor.Opening(ScopeSpanActor.ScopeKind.Stream, $"peer:{o.Peer}/stream-{id}", limits.Stream, Usage.OfStream(o.Direction),
                [
                    (ScopeSpanActor.SystemRank, new Step(_system)),
                    (ScopeSpanActor.PeerRank, new Step(_system, $"peer:{o.Peer}", limits.Peers.GetValueOrDefault(o.Peer) ?? limits.PeerDefault)),
                    (ScopeSpanActor.TransientRank, new Step(_transient!)),
                ], new ReplyTo(Sender, o.Answer), o.Owner) { Peer = o.Peer };
            Context.ActorOf(ScopeSpanActor.Props(opening, _directory!).OnDispatcherOf(Context), $"stream-{id}");
        });
        Receive<View>(v =>
        {
            var limits = _manager.Limits;
            switch (v.Scope)
            {
                case { Kind: ScopeName.ScopeKind.System }:
                    _system.Forward(ScopeProtocol.GetStat.Instance);
                    break;
                case { Kind: ScopeName.ScopeKind.Transient }:
                    _transient!.Forward(ScopeProtocol.GetStat.Instance);
                    break;
                case { Kind: ScopeName.ScopeKind.Peer, Name: var peer }:
                    _system.Forward(new ScopeActor.GetChildStat($"peer:{peer}", limits.Peers.GetValueOrDefault(PeerId.Parse(peer)) ?? limits.PeerDefault));
                    break;
                case { Kind: ScopeName.ScopeKind.Protocol, Name: var protocol }:
                    _system.Forward(new ScopeActor.GetChildStat($"protocol:{protocol}", limits.Protocols.GetValueOrDefault(protocol) ?? limits.ProtocolDefault));
                    break;
                case { Kind: ScopeName.ScopeKind.Service, Name: var service }:
                    _system.Forward(new ScopeActor.GetChildStat($"service:{service}", limits.Services.GetValueOrDefault(service) ?? limits.ServiceDefault));
                    break;
                case { Kind: ScopeName.ScopeKind.ServicePeer, Name: var servicePeer }:
                    var ofService = servicePeer[..servicePeer.LastIndexOf('/')];
                    _system.Forward(new ScopeActor.GetChildStat($"service-peer:{servicePeer}", limits.ServicePeers.GetValueOrDefault(ofService) ?? limits.ServicePeerDefault));
                    break;
            }
        });
        Receive<GetSnapshot>(_ =>
        {
            var timeout = TimeSpan.FromSeconds(10);
            var system = _system.Ask<ScopeActor.TreeIs>(ScopeActor.GetTree.Instance, timeout);
            var allowlisted = _allowlistedSystem.Ask<ScopeActor.TreeIs>(ScopeActor.GetTree.Instance, timeout);
            var subnets = _subnets.Ask<SubnetsStat>(new ConnectionLimiterActor.GetSubnets(ResourceManager.SnapshotSubnets), timeout);
            Task.WhenAll(system, allowlisted, subnets).PipeTo(Sender, success: () =>
                new SnapshotIs(Order(system.Result.Scopes, allowlisted.Result.Scopes, subnets.Result.Busiest.Select(ResourceManager.Row).ToArray())));
        });
        Receive<ConnectionLimiterActor.GetSubnets>(g => _subnets.Forward(g));
    }

    /// <summary>system, transient, allowlisted-system, allowlisted-transient, then the other named scopes by name, then subnets.</summary>
    private static ScopeSnapshot[] Order(IReadOnlyList<ScopeSnapshot> system, IReadOnlyList<ScopeSnapshot> allowlisted, ScopeSnapshot[] subnets)
    {
        string[] fixedScopes = ["system", "transient", "allowlisted-system", "allowlisted-transient"];
        var all = system.Concat(allowlisted).ToArray();
        return
        [
            .. fixedScopes.Select(name => all.First(s => s.Scope == name)),
            .. all.Where(s => !fixedScopes.Contains(s.Scope)).OrderBy(s => s.Scope, StringComparer.Ordinal),
            .. subnets,
        ];
    }
}

/// <summary>A named scope to view: the system or transient scope, or a peer's, protocol's or service's.</summary>
public sealed record ScopeName
{
    private ScopeName(ScopeKind kind, string name)
    {
        Kind = kind;
        Name = name;
    }

    /// <summary>The kinds of named scope.</summary>
    public enum ScopeKind
    {
        /// <summary><c>system</c>.</summary>
        System,

        /// <summary><c>transient</c>.</summary>
        Transient,

        /// <summary><c>peer:…</c>.</summary>
        Peer,

        /// <summary><c>protocol:…</c>.</summary>
        Protocol,

        /// <summary><c>service:…</c>.</summary>
        Service,

        /// <summary><c>service-peer:…/…</c>: one peer's share of a service.</summary>
        ServicePeer,
    }

    /// <summary>Which kind.</summary>
    public ScopeKind Kind { get; }

    /// <summary>The peer ID, protocol ID or service name (a service's and a peer ID for a service peer); empty for system and transient.</summary>
    public string Name { get; }

    /// <summary>The system scope.</summary>
    public static ScopeName System { get; } = new(ScopeKind.System, "");

    /// <summary>The transient scope.</summary>
    public static ScopeName Transient { get; } = new(ScopeKind.Transient, "");

    /// <summary>A peer's scope.</summary>
    public static ScopeName Peer(PeerId peer) => new(ScopeKind.Peer, peer.ToString());

    /// <summary>A protocol's scope.</summary>
    public static ScopeName Protocol(string protocol) => new(ScopeKind.Protocol, protocol);

    /// <summary>A service's scope.</summary>
    public static ScopeName Service(string service) => new(ScopeKind.Service, service);

    /// <summary>One peer's share of a service.</summary>
    public static ScopeName ServicePeer(string service, PeerId peer) => new(ScopeKind.ServicePeer, $"{service}/{peer}");
}
