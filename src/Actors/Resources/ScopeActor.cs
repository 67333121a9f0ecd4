using Akka.Actor;
using static Libp2p.Actors.Resources.ScopeProtocol;

namespace Libp2p.Actors.Resources;

/// <summary>
/// One named scope of the DAG as an actor, the only writer of its counters: <c>rcmgr/system</c>
/// with its children <c>transient</c>, <c>peer-…</c>, <c>protocol-…</c> and <c>service-…</c>, and
/// <c>rcmgr/allowlisted-system</c> with <c>allowlisted-transient</c>. It takes or refuses its step
/// of each reservation (<see cref="ScopeProtocol"/>), keeps what each connection, stream or span
/// holds, and gives it back when that actor stops. A parent makes its named children on demand and
/// stops one once it is empty and nothing is on its way to it.
/// </summary>
public sealed class ScopeActor : UntypedActor
{
    private readonly ScopeAccount _account;
    private readonly bool _reclaimable;
    private readonly Dictionary<string, Child> _children = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _childNames = new();
    private long _fromParent;
    private long _reportedAt = -1;
    private long _generation;

    /// <summary>Asks a parent for its child scope <paramref name="Name"/>; answered with <see cref="ChildIs"/> (null when there is none).</summary>
    public sealed record GetChild(string Name);

    /// <summary>The child scope asked for, or null.</summary>
    public sealed record ChildIs(string Name, IActorRef? Child);

    /// <summary>
    /// Asks a parent for its child scope's usage and limit; answered with
    /// <see cref="ScopeProtocol.StatIs"/>, with nothing in use when the child does not exist.
    /// </summary>
    public sealed record GetChildStat(string Name, ScopeLimit Limit);

    /// <summary>Asks a scope for its usage and every descendant's; answered with <see cref="TreeIs"/>.</summary>
    public sealed record GetTree
    {
        /// <summary>The message.</summary>
        public static GetTree Instance { get; } = new();
    }

    /// <summary>The scope's snapshot first, then its descendants'.</summary>
    public sealed record TreeIs(IReadOnlyList<ScopeSnapshot> Scopes);

    /// <summary>A child is empty, having had <paramref name="FromParent"/> reservations from its parent.</summary>
    private sealed record Idle(string Name, long FromParent);

    private sealed class Child(IActorRef actor)
    {
        public IActorRef Actor { get; } = actor;

        public long Sent { get; set; }
    }

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ScopeActor(string name, ScopeLimit limit, bool reclaimable, IReadOnlyList<(string Name, ScopeLimit Limit)> fixedChildren)
    {
        _account = new ScopeAccount(name, limit);
        _reclaimable = reclaimable;
        foreach (var (childName, childLimit) in fixedChildren)
            MakeChild(childName, childLimit, reclaimable: false);

    }

    /// <inheritdoc />
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Reserve r:
                // Counted as the parent counts what it hands over: steps naming this scope as its child.
                if (r.Path[r.Next].Child is not null && !r.Path[r.Next].Actor.Equals(Self))
                    _fromParent++;
                Take(r);
                break;
            case Release or Detach:
                GiveBack(_account, message, Context);
                break;
            case Terminated t when _childNames.Remove(t.ActorRef, out var failed):
                // A child stopped on its own (it failed): a later reservation makes it afresh.
                _children.Remove(failed);
                return;
            case Terminated t:
                _account.Forget(t.ActorRef);
                break;
            case GetStat:
                Sender.Tell(new StatIs(_account.Snapshot()));
                return;
            case GetChild g:
                Sender.Tell(new ChildIs(g.Name, _children.TryGetValue(g.Name, out var c) ? c.Actor : null));
                return;
            case GetChildStat g:
                if (_children.TryGetValue(g.Name, out var child))
                    child.Actor.Forward(GetStat.Instance);
                else
                    Sender.Tell(new StatIs(new ScopeSnapshot(g.Name, ScopeStat.Zero, g.Limit)));
                return;
            case GetTree:
                var own = _account.Snapshot();
                var children = _children.Values.Select(c => c.Actor.Ask<TreeIs>(GetTree.Instance, TimeSpan.FromSeconds(5))
                    .ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.Scopes : [], TaskScheduler.Default));
                Task.WhenAll(children)
                    .ContinueWith(t => new TreeIs([own, .. t.Result.SelectMany(s => s).OrderBy(s => s.Scope, StringComparer.Ordinal)]), TaskScheduler.Default)
                    .PipeTo(Sender);
                return;
            case Idle i:
                // Stopped only if nothing this parent handed it is still on its way: a reservation
                // into a scope that holds nothing always comes through here first.
                if (_children.TryGetValue(i.Name, out var idle) && idle.Actor.Equals(Sender) && idle.Sent == i.FromParent)
                {
                    _children.Remove(i.Name);
                    _childNames.Remove(Sender);
                    Context.Unwatch(Sender);
                    Context.Stop(Sender);
                }
                return;
            default:
                Unhandled(message);
                return;
        }
        Reclaim();
    }

    /// <summary>A named scope; <paramref name="reclaimable"/> ones stop once empty (peers, protocols, services).</summary>
    public static Props Props(string name, ScopeLimit limit, bool reclaimable, IReadOnlyList<(string Name, ScopeLimit Limit)> fixedChildren) =>
        Akka.Actor.Props.Create(() => new ScopeActor(name, limit, reclaimable, fixedChildren));

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        // A scope that fails is stopped, not restarted with its counters lost: what its holders held
        // there is gone with it (they give back to it no more), and a later reservation makes it afresh.
        new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>
    /// Takes this scope's step of a reservation, or hands it to the child the step names: a
    /// reservation into a scope that may not exist yet always passes through its parent.
    /// </summary>
    private void Take(Reserve reservation)
    {
        var step = reservation.Path[reservation.Next];
        if (step.Child is { } name && step.Actor.Equals(Self))
        {
            var child = Resolve(name, step.ChildLimit ?? ScopeLimit.Unlimited);
            child.Sent++;
            child.Actor.Tell(reservation, Self);
            return;
        }
        if (TryCharge(_account, reservation, Context, closed: false) is not { } next)
            return;
        // Charged here and handed to a child of ours next: done now, not by a message to ourselves.
        if (next.Next < next.Path.Length && next.Path[next.Next] is { Child: not null } childStep && childStep.Actor.Equals(Self))
            Take(next);
        else
            Advance(next, Self);
    }

    private Child Resolve(string name, ScopeLimit limit) =>
        _children.TryGetValue(name, out var child) ? child : MakeChild(name, limit, reclaimable: true);

    private Child MakeChild(string name, ScopeLimit limit, bool reclaimable)
    {
        var actor = Context.ActorOf(Props(name, limit, reclaimable, []).OnDispatcherOf(Context), ActorName(name));
        Context.Watch(actor);
        _childNames[actor] = name;
        return _children[name] = new Child(actor);
    }

    /// <summary>An empty reclaimable scope tells its parent, once per change of what it had from it.</summary>
    private void Reclaim()
    {
        if (!_reclaimable)
            return;
        if (!_account.IsEmpty)
        {
            _reportedAt = -1;
            return;
        }
        if (_reportedAt == _fromParent)
            return;
        _reportedAt = _fromParent;
        Context.Parent.Tell(new Idle(_account.Name, _fromParent));
    }

    // A scope made again while its old actor is still stopping needs another name.
    private string ActorName(string scope) => $"{Uri.EscapeDataString(scope.Replace(':', '-'))}-{++_generation}";
}
