using Libp2p.Actors.Network;

namespace Libp2p.Actors.Resources;

/// <summary>
/// A resource scope (the seed's <c>ResourceScope</c>): reserving in it charges it and every scope
/// above it in the DAG, all or nothing.
/// </summary>
public class ResourceScope
{
    private protected ResourceScope(ResourceManager manager, ScopeNode node, ScopeNode[] above)
    {
        Manager = manager;
        Node = node;
        Above = above;
    }

    private protected ResourceManager Manager { get; }

    internal ScopeNode Node { get; }

    /// <summary>The scopes this one charges besides itself, in DAG order.</summary>
    private protected ScopeNode[] Above { get; set; }

    /// <summary>The scope's path in the DAG, e.g. <c>system</c>, <c>peer:12D3…</c>, <c>peer:12D3…/conn-4</c>.</summary>
    public string Name => Node.Path;

    /// <summary>Reserves memory here and above, if every scope's priority rule allows it (the seed's <c>ReserveMemory</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">A scope refused; the exception names it.</exception>
    /// <exception cref="ResourceScopeClosedException">This scope was closed.</exception>
    public void ReserveMemory(int size, byte priority)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Reserve(new Usage(size, 0, 0, 0, 0, 0), priority);
    }

    /// <summary>Gives back memory reserved with <see cref="ReserveMemory"/> (the seed's <c>ReleaseMemory</c>).</summary>
    public void ReleaseMemory(int size) => Release(new Usage(size, 0, 0, 0, 0, 0));

    /// <summary>The scope's usage (the seed's <c>Stat</c>).</summary>
    public ScopeStat Stat() => Node.Usage.ToStat();

    /// <summary>A span under this scope: what it reserves is released by its <see cref="ResourceScopeSpan.Done"/> (the seed's <c>BeginSpan</c>).</summary>
    public ResourceScopeSpan BeginSpan()
    {
        if (Node.Closed)
            throw new ResourceScopeClosedException(Node.Path);
        return new ResourceScopeSpan(Manager, Manager.NewNode($"{Node.Path}/span", ScopeLimit.Unlimited), [Node, .. Above]);
    }

    private protected virtual void Reserve(Usage usage, byte priority)
    {
        if (!Manager.Counting)
        {
            if (Node.Closed)
                throw new ResourceScopeClosedException(Node.Path);
            return;
        }
        if (ScopeNode.TryReserve(ResourceManager.Chain(Node, Above), usage, priority) is { } refusal)
            throw refusal;
    }

    private protected virtual void Release(Usage usage)
    {
        if (Manager.Counting)
            ScopeNode.Release(ResourceManager.Chain(Node, Above), usage);
    }
}

/// <summary>
/// A scope with an end (the seed's <c>ResourceScopeSpan</c>): <see cref="Done"/> gives back
/// everything reserved in it, and nothing can be reserved in it afterwards.
/// </summary>
public class ResourceScopeSpan : ResourceScope, IDisposable
{
    // Serializes this span's reservations, releases, moves and Done: a muxer reserves window growth
    // on its stage's thread while the actor that owns the scope moves or closes it. Taken before any
    // node's lock and never while one is held, so the global node order is kept.
    private readonly object _gate = new();
    private Usage _held;

    internal ResourceScopeSpan(ResourceManager manager, ScopeNode node, ScopeNode[] above) : base(manager, node, above)
    {
        foreach (var scope in above)
            Manager.Retain(scope);
    }

    /// <summary>Releases everything the span still holds, and closes it (the seed's <c>Done</c>).</summary>
    public void Done()
    {
        ScopeNode[] above;
        lock (_gate)
        {
            lock (Node)
            {
                if (Node.Closed)
                    return;
                Node.Closed = true;
            }
            // Before the scopes: whoever sees them released sees this released too.
            Closing();
            if (Manager.Counting)
                ScopeNode.Release(ResourceManager.Chain(Node, Above), _held);
            _held = Usage.Zero;
            above = Above;
        }
        foreach (var scope in above)
            Manager.Unretain(scope);
    }

    /// <summary>Runs once, when <see cref="Done"/> closes the span: what it holds outside the scopes goes back here.</summary>
    private protected virtual void Closing() { }

    /// <summary>The same as <see cref="Done"/>.</summary>
    public void Dispose()
    {
        Done();
        GC.SuppressFinalize(this);
    }

    private protected override void Reserve(Usage usage, byte priority)
    {
        lock (_gate)
        {
            base.Reserve(usage, priority);
            _held += usage;
        }
    }

    private protected override void Release(Usage usage)
    {
        lock (_gate)
        {
            // After Done everything was given back already; a late release (a muxer closing after
            // its connection's actor stopped) must not count it twice.
            if (Node.Closed)
                return;
            _held -= usage;
            base.Release(usage);
        }
    }

    /// <summary>
    /// Moves what the span holds from <paramref name="from"/> into a named scope just looked up, and
    /// lets go of the reference the lookup handed out (the move takes its own, if it succeeds).
    /// </summary>
    private protected void MoveInto(ScopeNode[] from, NamedScope scope)
    {
        try
        {
            Move(from, [scope.Node]);
        }
        finally
        {
            Manager.Unretain(scope.Node);
        }
    }

    /// <summary>Moves what the span holds from the scopes <paramref name="from"/> to the scopes <paramref name="to"/>, all or nothing.</summary>
    private protected void Move(ScopeNode[] from, ScopeNode[] to)
    {
        lock (_gate)
        {
            if (Node.Closed)
                throw new ResourceScopeClosedException(Node.Path);
            // Charged first, released second: for a moment it counts twice, never zero times.
            if (Manager.Counting)
            {
                var chain = (ScopeNode[])to.Clone();
                Array.Sort(chain, static (a, b) => a.Id.CompareTo(b.Id));
                if (ScopeNode.TryReserve(chain, _held, ReservationPriority.Always) is { } refusal)
                    throw refusal;
                ScopeNode.Release(from, _held);
            }
            foreach (var scope in to)
                Manager.Retain(scope);
            Above = [.. Above.Where(a => !from.Contains(a)), .. to];
        }
        foreach (var scope in from)
            Manager.Unretain(scope);
    }
}
