using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using static Libp2p.Actors.Resources.ScopeProtocol;

namespace Libp2p.Actors.Resources;

/// <summary>
/// The actor of a scope with an end (the seed's <c>ResourceScopeSpan</c>): a connection's, a
/// stream's, or a span begun in one of them. It is the only writer of its own counters, reserves
/// through the named scopes above it by message (<see cref="ScopeProtocol"/>), one reservation at
/// a time so a move never races a reservation, and moves itself between them
/// (<c>SetPeer</c>, <c>SetProtocol</c>, <c>SetService</c>). When it stops, for whatever reason
/// (its <c>Done</c>, its owner stopping, a failure), every scope above gives back what it held.
/// </summary>
public sealed class ScopeSpanActor : UntypedActor, IWithUnboundedStash
{
    /// <summary>The size of the blocks a connection's memory lease is topped up with.</summary>
    internal const long LeaseBlock = 64 * 1024;

    /// <summary>A connection's first lease: what one read may make its muxer hold (the stage's read headroom).</summary>
    internal const long FirstLease = 384 * 1024;

    // A reservation's path runs in this order, whichever scopes it names: the parent scope of a
    // span, then system, peer, protocol, service, the peer's share of the service, transient. One
    // order for all, as locks would need.
    internal const int ParentRank = -1, SystemRank = 0, PeerRank = 1, ProtocolRank = 2, ServiceRank = 3, ServicePeerRank = 4, TransientRank = 5;

    private readonly ScopeAccount _account;
    private readonly Opening _opening;
    private readonly ScopeDirectory _directory;
    private readonly List<(int Rank, IActorRef Actor)> _edges = [];
    private readonly string _suffix;
    private IActorRef? _owner;
    private Usage _own;
    private bool _allowlisted;
    private PeerId? _peer;
    private MemoryLease? _lease;
    private readonly ScopeEnd _end = new();
    private long _nextId;
    private long _waiting = -1;
    // The one reservation of ours on its way at a time, in this token, used again for the next.
    private readonly Reserve _token = new();
    private Step[]? _path;
    // A memory reservation on its way: answered without a closure, the path every stream takes most.
    private ReplyTo? _memoryReply;
    private MemoryReserved? _memoryReserved;
    private Release? _lastRelease;
    private Action<IActorRef[]>? _onApproved;
    private Action<Exception>? _onRefused;
    private int _spans;
    private bool _open;
    private bool _inSubnets;

    /// <summary>Reserves memory here and above at a priority; answered with <see cref="MemoryReserved"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record ReserveMemory(int Size, byte Priority)
    {
        internal IAnswer? Answer { get; init; }
    }

    /// <summary>The memory was reserved.</summary>
    public sealed record MemoryReserved(int Size);

    /// <summary>Gives back memory reserved with <see cref="ReserveMemory"/>.</summary>
    public sealed record ReleaseMemory(int Size);

    /// <summary>Moves a connection from its transient scope to its peer's; answered with <see cref="PeerSet"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record SetPeer(PeerId Peer)
    {
        internal IAnswer? Answer { get; init; }
    }

    /// <summary>The connection counts against <paramref name="Scope"/> now.</summary>
    public sealed record PeerSet(string Scope, string Name, bool Allowlisted);

    /// <summary>Moves a stream from the transient scope to its protocol's; answered with <see cref="ProtocolSet"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record SetProtocol(string Protocol)
    {
        internal IAnswer? Answer { get; init; }
    }

    /// <summary>The stream counts against <paramref name="Scope"/> now.</summary>
    public sealed record ProtocolSet(string Scope);

    /// <summary>Also charges a service's scope; answered with <see cref="ServiceSet"/> or a <see cref="Status.Failure"/>.</summary>
    public sealed record SetService(string Service)
    {
        internal IAnswer? Answer { get; init; }
    }

    /// <summary>The stream counts against <paramref name="Scope"/> too.</summary>
    public sealed record ServiceSet(string Scope);

    /// <summary>Begins a span under this scope; answered with <see cref="Opened"/> (the span's actor) or a <see cref="Status.Failure"/>.</summary>
    public sealed record BeginSpan
    {
        /// <summary>The message.</summary>
        public static BeginSpan Instance { get; } = new();

        internal IAnswer? Answer { get; init; }
    }

    /// <summary>Gives back everything and closes the scope (the seed's <c>Done</c>): the actor stops.</summary>
    public sealed record Done
    {
        /// <summary>The message.</summary>
        public static Done Instance { get; } = new();
    }

    /// <summary>The scope now belongs to <paramref name="Owner"/>: it closes when that actor stops.</summary>
    public sealed record Adopt(IActorRef Owner);

    /// <summary>The scope is open, charged everywhere above it.</summary>
    public sealed record Opened(IActorRef Scope, string Name, bool Allowlisted)
    {
        internal MemoryLease? Memory { get; init; }

        /// <summary>Marked when the actor stops, so its handles refuse at once what it would never answer.</summary>
        internal ScopeEnd? End { get; init; }
    }

    /// <summary>The lease is short of memory: reserve a block more (the first one when the muxer is about to start).</summary>
    internal sealed record LeaseLow(long Shortfall);

    internal sealed record LeaseExcess;

    internal enum ScopeKind { Connection, Stream, Span }

    /// <summary>What a scope opens with: its path, what it charges, and who is told.</summary>
    internal sealed record Opening(ScopeKind Kind, string Name, ScopeLimit Limit, Usage Usage, (int Rank, Step Step)[] Path, ReplyTo ReplyTo, IActorRef? Owner)
    {
        public Multiaddr? Endpoint { get; init; }

        /// <summary>The connection limiter (<c>rcmgr/subnets</c>) when this connection is counted per subnet.</summary>
        public IActorRef? Subnets { get; init; }

        /// <summary>A span's scopes above it, known from its parent.</summary>
        public (int Rank, IActorRef Actor)[] Edges { get; init; } = [];

        /// <summary>A stream's peer, whose share of a service the stream is charged to once it names one.</summary>
        public PeerId? Peer { get; init; }
    }

    /// <summary>The fixed named scopes, and the manager whose limits and allow-list apply.</summary>
    internal sealed record ScopeDirectory(IActorRef System, IActorRef Transient, IActorRef AllowlistedSystem, IActorRef AllowlistedTransient, ResourceManager Manager);

    private ScopeSpanActor(Opening opening, ScopeDirectory directory)
    {
        _opening = opening;
        _directory = directory;
        _account = new ScopeAccount(opening.Name, opening.Limit);
        _suffix = opening.Name[(opening.Name.LastIndexOf('/') + 1)..];
        _owner = opening.Owner;
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    internal static Props Props(Opening opening, ScopeDirectory directory) => Akka.Actor.Props.CreateBy(new Producer(opening, directory));

    /// <summary>Makes the actor from its internal opening: reflection would need a public constructor.</summary>
    private sealed class Producer(Opening opening, ScopeDirectory directory) : IIndirectActorProducer
    {
        public Type ActorType => typeof(ScopeSpanActor);

        public ActorBase Produce() => new ScopeSpanActor(opening, directory);

        public void Release(ActorBase actor) { }
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_owner is not null)
            Context.Watch(_owner);
        if (_opening.Kind == ScopeKind.Span)
        {
            _edges.AddRange(_opening.Edges);
            EdgesChanged();
            _opening.ReplyTo.Ok(new Opened(Self, _account.Name, false) { End = _end });
            _open = true;
            return;
        }
        // A connection counted per subnet takes its place there first: the limiter is asked
        // before anything is reserved, as go-libp2p's limiter comes before its scopes.
        if (_opening.Subnets is { } subnets)
            subnets.Tell(new ConnectionLimiterActor.Admit(_opening.Endpoint!, _opening.Usage.ConnsIn > 0 ? Direction.Inbound : Direction.Outbound));
        else
            Reserve();
    }

    private void Reserve() =>
        Run(_opening.Usage, ReservationPriority.Always, _opening.Path, chargeOwn: true,
            approved: scopes => Open(_opening.Path, scopes, allowlisted: false),
            refused: OpenRefused);

    /// <summary>Gives back the connection's places in its subnets, if it holds them.</summary>
    private void LeaveSubnets()
    {
        if (!_inSubnets)
            return;
        _inSubnets = false;
        _opening.Subnets!.Tell(ConnectionLimiterActor.Leave.Instance);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _end.End();
        _lease?.Close();
        // Explicit, so the scopes above give back at once; each also watches us, whatever stopped us.
        foreach (var (_, actor) in _edges)
            actor.Tell(new Detach(Self));
        LeaveSubnets();
    }

    // One behaviour, with flags rather than Become: a reservation a microsecond long must not
    // rebuild an actor's handler table twice.
    /// <inheritdoc />
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            // A span's reservation passes through us on its way up: our own limit counts too.
            case Reserve r:
                if (TryCharge(_account, r, Context, closed: false) is { } next)
                    Advance(next, Self);
                return;
            case Release or Detach:
                GiveBack(_account, message, Context);
                return;
            case Approved a when a.Id == _waiting:
                if (_memoryReply is { } approvedTo)
                {
                    // Already answered by the last scope when the request carried an answer.
                    if (approvedTo.Answer is null)
                        approvedTo.Ok(_memoryReserved!);
                    Settled();
                    return;
                }
                var then = _onApproved!;
                Settled();
                then(a.Scopes);
                return;
            case Refused r when r.Id == _waiting:
                if (_memoryReply is { } refusedTo)
                {
                    // The scopes that took it gave it back; our own part comes back before the answer.
                    _account.Remove(Self, _token.Delta);
                    _own -= _token.Delta;
                    Settled();
                    refusedTo.Fail(r.Reason);
                    return;
                }
                var otherwise = _onRefused!;
                Settled();
                otherwise(r.Reason);
                return;
            case Approved or Refused:
                return;
            case ConnectionLimiterActor.SubnetAdmitted when !_open && _waiting < 0 && !_inSubnets:
                _inSubnets = true;
                Reserve();
                return;
            case ConnectionLimiterActor.SubnetRefused refused:
                Fail(refused.Reason);
                return;
            case ScopeProtocol.GetStat:
                Sender.Tell(new StatIs(_account.Snapshot()));
                return;
            case Done:
                Context.Stop(Self);
                return;
            case Adopt a:
                if (_owner is not null)
                    Context.Unwatch(_owner);
                _owner = a.Owner;
                Context.Watch(_owner);
                return;
            case Terminated t:
                if (t.ActorRef.Equals(_owner))
                    Context.Stop(Self);
                else
                    _account.Forget(t.ActorRef); // a span of ours
                return;
        }
        // Requests of our own wait while a reservation of ours is on its way, or the scope opens.
        if (!_open || _waiting >= 0)
        {
            Stash.Stash();
            return;
        }
        switch (message)
        {
            case ReserveMemory r:
                ReserveOwnMemory(r, new ReplyTo(Sender, r.Answer));
                return;
            case ReleaseMemory r:
                Give(Usage.OfMemory(r.Size));
                return;
            case SetPeer p:
                MoveToPeer(p.Peer, new ReplyTo(Sender, p.Answer));
                return;
            case SetProtocol p:
                SetNamed(ProtocolRank, $"protocol:{p.Protocol}", _directory.Manager.Limits.Protocols.GetValueOrDefault(p.Protocol) ?? _directory.Manager.Limits.ProtocolDefault,
                    from: TransientRank, new ReplyTo(Sender, p.Answer), name => new ProtocolSet(name));
                return;
            case SetService v:
                JoinService(v.Service, new ReplyTo(Sender, v.Answer));
                return;
            case BeginSpan b:
                var opening = new Opening(ScopeKind.Span, $"{_account.Name}/span", ScopeLimit.Unlimited, Usage.Zero, [], new ReplyTo(Sender, b.Answer), null)
                {
                    Edges = [(ParentRank, Self), .. _edges],
                };
                Context.ActorOf(Props(opening, _directory).OnDispatcherOf(Context), $"span-{++_spans}");
                return;
            case LeaseLow l when _lease is { } lease:
                var size = Math.Max(lease.Block, (l.Shortfall + lease.Block - 1) / lease.Block * lease.Block);
                Run(Usage.OfMemory(size), ReservationPriority.Low, Path(), chargeOwn: true,
                    approved: _ => lease.Grant(size),
                    refused: _ => lease.Denied());
                return;
            case LeaseExcess:
                if (_lease?.TakeExcess(_lease.Keep) is > 0 and var excess)
                    Give(Usage.OfMemory(excess));
                return;
            default:
                Unhandled(message);
                return;
        }
    }

    /// <summary>
    /// Charges a service, and the peer's share of it (go-libp2p's service peer scope) when the peer
    /// is known, both or neither: the service is the whole node's, and without the share one peer
    /// holding streams open could take all of it from every other.
    /// </summary>
    private void JoinService(string service, ReplyTo replyTo)
    {
        var limits = _directory.Manager.Limits;
        var name = $"service:{service}";
        (int, Step) serviceStep = (ServiceRank, new Step(_directory.System, name, limits.Services.GetValueOrDefault(service) ?? limits.ServiceDefault));
        (int, Step)[] path = (_opening.Peer ?? _peer) is { } peer
            ? [serviceStep, (ServicePeerRank, new Step(_directory.System, $"service-peer:{service}/{peer}", limits.ServicePeers.GetValueOrDefault(service) ?? limits.ServicePeerDefault))]
            : [serviceStep];
        Move(path, from: null, approved: () => replyTo.Ok(new ServiceSet(name)), refused: replyTo.Fail);
    }

    private void SetNamed(int rank, string name, ScopeLimit limit, int? from, ReplyTo replyTo, Func<string, object> answer) =>
        Move([(rank, new Step(_directory.System, name, limit))], from,
            approved: () => replyTo.Ok(answer(name)), refused: replyTo.Fail);

    private void Open((int Rank, Step Step)[] path, IActorRef[] scopes, bool allowlisted)
    {
        _allowlisted = allowlisted;
        for (var i = 0; i < path.Length; i++)
            _edges.Add((path[i].Rank, scopes[i]));
        _edges.Sort((a, b) => a.Rank.CompareTo(b.Rank));
        EdgesChanged();
        if (_opening.Kind == ScopeKind.Connection)
            _lease = new MemoryLease(Self, LeaseBlock);
        _opening.ReplyTo.Ok(new Opened(Self, _account.Name, allowlisted) { Memory = _lease, End = _end });
        _open = true;
        Stash.UnstashAll();
    }

    private void OpenRefused(Exception refusal)
    {
        var allowlist = _directory.Manager.Allowlist;
        if (_opening.Kind != ScopeKind.Connection || refusal is not ResourceLimitExceededException first || _opening.Endpoint is not { } endpoint || allowlist.IsEmpty)
        {
            Fail(refusal);
            return;
        }
        // As go-libp2p: the ordinary scopes first, the allow-listed ones only for what they refused.
        if (!allowlist.Allowed(endpoint))
        {
            Fail(ResourceManager.Explained(first, $"{endpoint} is not allow-listed"));
            return;
        }
        _account.Name = $"allowlisted-transient/{_suffix}";
        (int, Step)[] path = [(SystemRank, new Step(_directory.AllowlistedSystem)), (TransientRank, new Step(_directory.AllowlistedTransient))];
        Run(_opening.Usage, ReservationPriority.Always, path, chargeOwn: true,
            approved: scopes => Open(path, scopes, allowlisted: true),
            refused: e => Fail(e is ResourceLimitExceededException second
                ? ResourceManager.Explained(second, $"{endpoint} is allow-listed, and {first.Scope} had refused its {first.Resource} too")
                : e));
    }

    private void Fail(Exception reason)
    {
        // Given back before the answer, so whoever hears of the refusal and asks the limiter finds the place free.
        LeaveSubnets();
        _opening.ReplyTo.Fail(reason);
        Context.Stop(Self);
    }

    private void MoveToPeer(PeerId peer, ReplyTo replyTo)
    {
        if (_peer is not null)
        {
            replyTo.Fail(new InvalidOperationException($"{_account.Name} already belongs to peer:{_peer}"));
            return;
        }
        var limits = _directory.Manager.Limits;
        var peerStep = new Step(_directory.System, $"peer:{peer}", limits.Peers.GetValueOrDefault(peer) ?? limits.PeerDefault);
        void ToPeer() => Move([(PeerRank, peerStep)], from: TransientRank,
            approved: () =>
            {
                _peer = peer;
                _account.Name = $"peer:{peer}/{_suffix}";
                replyTo.Ok(new PeerSet($"peer:{peer}", _account.Name, _allowlisted));
            },
            refused: replyTo.Fail);

        if (!_allowlisted || _directory.Manager.Allowlist.AllowedPeerAndMultiaddr(peer, _opening.Endpoint!))
        {
            ToPeer();
            return;
        }
        // As go-libp2p: a connection only almost allow-listed (its address is, for other peers)
        // must not evade the ordinary scopes, so it goes back to them, or is refused.
        (int, Step)[] ordinary = [(SystemRank, new Step(_directory.System)), (TransientRank, new Step(_directory.Transient))];
        Run(_own, ReservationPriority.Always, ordinary, chargeOwn: false,
            approved: scopes =>
            {
                Give(_own, keepOwn: true);
                _edges.Clear();
                _edges.Add((SystemRank, scopes[0]));
                _edges.Add((TransientRank, scopes[1]));
                EdgesChanged();
                _allowlisted = false;
                _account.Name = $"transient/{_suffix}";
                ToPeer();
            },
            refused: e => replyTo.Fail(e is ResourceLimitExceededException r
                ? ResourceManager.Explained(r, $"{_opening.Endpoint} is allow-listed only for other peers than {peer}")
                : e));
    }

    /// <summary>
    /// Charges what this scope holds to more scopes (the steps of <paramref name="path"/>, all or
    /// none) and, once they took it, gives it back to the one of rank <paramref name="from"/>.
    /// </summary>
    private void Move((int Rank, Step Step)[] path, int? from, Action approved, Action<Exception> refused)
    {
        if (Array.Exists(path, p => _edges.Exists(e => e.Rank == p.Rank)))
        {
            refused(new InvalidOperationException($"{_account.Name} already has a scope of that kind"));
            return;
        }
        // Charged first, given back second: for a moment it counts twice, never zero times.
        Run(_own, ReservationPriority.Always, path, chargeOwn: false,
            approved: scopes =>
            {
                if (from is { } rankFrom && _edges.FindIndex(e => e.Rank == rankFrom) is >= 0 and var index)
                {
                    _edges[index].Actor.Tell(new Detach(Self));
                    _edges.RemoveAt(index);
                }
                for (var i = 0; i < path.Length; i++)
                    _edges.Add((path[i].Rank, scopes[i]));
                _edges.Sort((a, b) => a.Rank.CompareTo(b.Rank));
                EdgesChanged();
                approved();
            },
            refused: refused);
    }

    /// <summary>Gives <paramref name="delta"/> back here and to every scope above.</summary>
    private void Give(Usage delta, bool keepOwn = false)
    {
        delta = delta.AtMost(_own);
        if (delta.IsZero)
            return;
        if (!keepOwn)
        {
            _account.Remove(Self, delta);
            _own -= delta;
        }
        // One message for every scope above (it is immutable), and the same again while the amount is.
        var release = _lastRelease is { } last && last.Delta == delta ? last : _lastRelease = new Release(Self, delta);
        foreach (var (_, actor) in _edges)
            actor.Tell(release);
    }

    /// <summary>The scopes above, in path order; made again only after they change (<see cref="EdgesChanged"/>).</summary>
    private Step[] Path()
    {
        if (_path is { } path)
            return path;
        path = new Step[_edges.Count];
        for (var i = 0; i < path.Length; i++)
            path[i] = new Step(_edges[i].Actor);
        return _path = path;
    }

    /// <summary>
    /// Reserves memory here and along the path, the request every muxer's window and every
    /// <c>ReserveMemory</c> makes: with no closure, the token of the last reservation, and the
    /// answer completed by the last scope as it approves.
    /// </summary>
    private void ReserveOwnMemory(ReserveMemory request, ReplyTo replyTo)
    {
        var delta = Usage.OfMemory(request.Size);
        if (_account.Refuse(delta, request.Priority) is { } refusal)
        {
            replyTo.Fail(refusal);
            return;
        }
        _account.Add(Self, delta);
        _own += delta;
        var reserved = _memoryReserved is { } last && last.Size == request.Size ? last : _memoryReserved = new MemoryReserved(request.Size);
        var path = Path();
        if (path.Length == 0)
        {
            replyTo.Ok(reserved);
            return;
        }
        _waiting = ++_nextId;
        _memoryReply = replyTo;
        path[0].Actor.Tell(_token.Begin(_waiting, Self, delta, request.Priority, path, Self, replyTo.Answer, reserved));
    }

    private void Run(Usage delta, byte priority, (int Rank, Step Step)[] path, bool chargeOwn, Action<IActorRef[]> approved, Action<Exception> refused) =>
        Run(delta, priority, Array.ConvertAll(path, p => p.Step), chargeOwn, approved, refused);

    /// <summary>
    /// Reserves <paramref name="delta"/> here (when <paramref name="chargeOwn"/>) and along
    /// <paramref name="path"/>; until the answer, other requests wait in the stash.
    /// </summary>
    private void Run(Usage delta, byte priority, Step[] path, bool chargeOwn, Action<IActorRef[]> approved, Action<Exception> refused)
    {
        if (chargeOwn)
        {
            if (_account.Refuse(delta, priority) is { } refusal)
            {
                refused(refusal);
                return;
            }
            _account.Add(Self, delta);
            _own += delta;
        }
        if (path.Length == 0)
        {
            approved([]);
            return;
        }
        _waiting = ++_nextId;
        _onApproved = approved;
        _onRefused = e =>
        {
            if (chargeOwn)
            {
                _account.Remove(Self, delta);
                _own -= delta;
            }
            refused(e);
        };
        path[0].Actor.Tell(_token.Begin(_waiting, Self, delta, priority, path, Self));
    }

    private void EdgesChanged() => _path = null;

    private void Settled()
    {
        _waiting = -1;
        _memoryReply = null;
        _onApproved = null;
        _onRefused = null;
        Stash.UnstashAll();
    }
}
