using Akka.Actor;
using Libp2p.Actors.Network;

namespace Libp2p.Actors.Resources;

/// <summary>
/// The counters of one scope, owned by the one actor that is that scope: its limit, its usage, and
/// what each child (a connection, stream or span actor) holds in it, so that a child that stops
/// gives back exactly what it held. Not thread-safe, by design: only its actor touches it.
/// </summary>
internal sealed class ScopeAccount(string name, ScopeLimit limit)
{
    private readonly Dictionary<IActorRef, Usage> _held = new();

    public string Name { get; set; } = name;

    public ScopeLimit Limit { get; } = limit;

    public Usage Usage { get; private set; }

    /// <summary>Nothing is held here by anyone.</summary>
    public bool IsEmpty => _held.Count == 0 && Usage.IsZero;

    /// <summary>What each child holds here now.</summary>
    public IReadOnlyDictionary<IActorRef, Usage> Held => _held;

    public ScopeSnapshot Snapshot() => new(Name, Usage.ToStat(), Limit);

    /// <summary>Adds <paramref name="delta"/> for <paramref name="holder"/>; true when the holder is new here (to be watched).</summary>
    public bool Add(IActorRef holder, Usage delta)
    {
        Usage += delta;
        var known = _held.TryGetValue(holder, out var held);
        _held[holder] = held + delta;
        return !known;
    }

    /// <summary>Takes back up to <paramref name="delta"/> of what <paramref name="holder"/> holds; true when it holds nothing more.</summary>
    public bool Remove(IActorRef holder, Usage delta)
    {
        if (!_held.TryGetValue(holder, out var held))
            return false;
        // A holder gives back no more than it holds: a late or repeated release cannot drive a count negative.
        var taken = delta.AtMost(held);
        Usage -= taken;
        held -= taken;
        if (!held.IsZero)
        {
            _held[holder] = held;
            return false;
        }
        _held.Remove(holder);
        return true;
    }

    /// <summary>Takes back everything <paramref name="holder"/> holds; true when it held something.</summary>
    public bool Forget(IActorRef holder)
    {
        if (!_held.Remove(holder, out var held))
            return false;
        Usage -= held;
        return true;
    }

    /// <summary>Why <paramref name="delta"/> may not be added at <paramref name="priority"/>, or null when it may.</summary>
    public ResourceLimitExceededException? Refuse(Usage delta, byte priority)
    {
        var usage = Usage;
        var after = usage + delta;
        if (delta.Memory > 0)
        {
            // The seed's rule: priority p passes while use stays at or under (1 + p) / 256 of the limit.
            var threshold = priority == ReservationPriority.Always || Limit.Memory == long.MaxValue
                ? Limit.Memory
                : (long)((decimal)Limit.Memory * (1 + priority) / 256);
            if (after.Memory > threshold)
                return new ResourceLimitExceededException(Name, "memory", delta.Memory, usage.Memory, Limit.Memory,
                    threshold == Limit.Memory ? null : $"priority {priority} allows up to {threshold}");
        }
        return Check("inbound streams", delta.StreamsIn, usage.StreamsIn, after.StreamsIn, Limit.StreamsInbound)
            ?? Check("outbound streams", delta.StreamsOut, usage.StreamsOut, after.StreamsOut, Limit.StreamsOutbound)
            ?? Check("streams", delta.StreamsIn + delta.StreamsOut, usage.StreamsIn + usage.StreamsOut, after.StreamsIn + after.StreamsOut, Limit.Streams)
            ?? Check("inbound connections", delta.ConnsIn, usage.ConnsIn, after.ConnsIn, Limit.ConnsInbound)
            ?? Check("outbound connections", delta.ConnsOut, usage.ConnsOut, after.ConnsOut, Limit.ConnsOutbound)
            ?? Check("connections", delta.ConnsIn + delta.ConnsOut, usage.ConnsIn + usage.ConnsOut, after.ConnsIn + after.ConnsOut, Limit.Conns)
            ?? Check("file descriptors", delta.FD, usage.FD, after.FD, Limit.FD);
    }

    private ResourceLimitExceededException? Check(string resource, long asked, long current, long after, long limit) =>
        asked > 0 && after > limit ? new ResourceLimitExceededException(Name, resource, asked, current, limit, null) : null;
}
