using Libp2p.Actors.Network;

namespace Libp2p.Actors.Resources;

/// <summary>An amount of every resource, added to or taken from scopes in one step.</summary>
internal readonly record struct Usage(long Memory, int StreamsIn, int StreamsOut, int ConnsIn, int ConnsOut, int FD)
{
    public static Usage Zero => default;

    public bool IsZero => this == default;

    public static Usage operator +(Usage a, Usage b) =>
        new(a.Memory + b.Memory, a.StreamsIn + b.StreamsIn, a.StreamsOut + b.StreamsOut, a.ConnsIn + b.ConnsIn, a.ConnsOut + b.ConnsOut, a.FD + b.FD);

    public static Usage operator -(Usage a, Usage b) =>
        new(a.Memory - b.Memory, a.StreamsIn - b.StreamsIn, a.StreamsOut - b.StreamsOut, a.ConnsIn - b.ConnsIn, a.ConnsOut - b.ConnsOut, a.FD - b.FD);

    public ScopeStat ToStat() => new(StreamsIn, StreamsOut, ConnsIn, ConnsOut, FD, Memory);
}

/// <summary>
/// One vertex of the scope DAG: its limit, its usage, and a lock. A reservation locks every scope
/// it touches in one global order (by <see cref="Id"/>), checks them all, and then changes them
/// all, so it is all-or-nothing and two reservations never both squeeze past a limit.
/// </summary>
internal sealed class ScopeNode(long id, string path, ScopeLimit limit)
{
    private Usage _usage;

    public long Id { get; } = id;

    public string Path { get; set; } = path;

    public ScopeLimit Limit { get; } = limit;

    public bool Closed { get; set; }

    /// <summary>Connections, streams and spans that charge this scope: a named scope with none, and nothing in use, can go.</summary>
    public int References { get; set; }

    public Usage Usage
    {
        get
        {
            lock (this)
                return _usage;
        }
    }

    /// <summary>Adds <paramref name="delta"/> to every scope of <paramref name="chain"/> (sorted by ID), or to none.</summary>
    /// <returns>Null on success, else the exception that explains the first refusal.</returns>
    public static Exception? TryReserve(ScopeNode[] chain, Usage delta, byte priority)
    {
        var taken = 0;
        try
        {
            for (; taken < chain.Length; taken++)
                Monitor.Enter(chain[taken]);
            foreach (var node in chain)
            {
                if (node.Closed)
                    return new ResourceScopeClosedException(node.Path);
                if (node.Refuse(delta, priority) is { } refusal)
                    return refusal;
            }
            foreach (var node in chain)
                node._usage += delta;
            return null;
        }
        finally
        {
            for (var i = taken - 1; i >= 0; i--)
                Monitor.Exit(chain[i]);
        }
    }

    /// <summary>Takes <paramref name="delta"/> back from every scope of <paramref name="chain"/>.</summary>
    public static void Release(ScopeNode[] chain, Usage delta)
    {
        foreach (var node in chain)
        {
            lock (node)
                node._usage -= delta;
        }
    }

    private ResourceLimitExceededException? Refuse(Usage delta, byte priority)
    {
        var after = _usage + delta;
        if (delta.Memory > 0)
        {
            // The seed's rule: priority p passes while use stays at or under (1 + p) / 256 of the limit.
            var threshold = priority == ReservationPriority.Always || Limit.Memory == long.MaxValue
                ? Limit.Memory
                : (long)((decimal)Limit.Memory * (1 + priority) / 256);
            if (after.Memory > threshold)
                return new ResourceLimitExceededException(Path, "memory", delta.Memory, _usage.Memory, Limit.Memory,
                    threshold == Limit.Memory ? null : $"priority {priority} allows up to {threshold}");
        }
        return Check("inbound streams", delta.StreamsIn, _usage.StreamsIn, after.StreamsIn, Limit.StreamsInbound)
            ?? Check("outbound streams", delta.StreamsOut, _usage.StreamsOut, after.StreamsOut, Limit.StreamsOutbound)
            ?? Check("streams", delta.StreamsIn + delta.StreamsOut, _usage.StreamsIn + _usage.StreamsOut, after.StreamsIn + after.StreamsOut, Limit.Streams)
            ?? Check("inbound connections", delta.ConnsIn, _usage.ConnsIn, after.ConnsIn, Limit.ConnsInbound)
            ?? Check("outbound connections", delta.ConnsOut, _usage.ConnsOut, after.ConnsOut, Limit.ConnsOutbound)
            ?? Check("connections", delta.ConnsIn + delta.ConnsOut, _usage.ConnsIn + _usage.ConnsOut, after.ConnsIn + after.ConnsOut, Limit.Conns)
            ?? Check("file descriptors", delta.FD, _usage.FD, after.FD, Limit.FD);
    }

    private ResourceLimitExceededException? Check(string resource, long asked, long current, long after, long limit) =>
        asked > 0 && after > limit ? new ResourceLimitExceededException(Path, resource, asked, current, limit, null) : null;
}
