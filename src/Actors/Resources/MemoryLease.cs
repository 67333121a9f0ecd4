using Akka.Actor;
using Libp2p.Protocols.Muxing;

namespace Libp2p.Actors.Resources;

/// <summary>
/// Memory a connection's scope actor reserved ahead, through its whole path, for its muxer to
/// approve within without waiting (a lease): yamux window growth, partly received frames and
/// unread mplex data are taken from it on the connection stage's thread. What runs short is asked
/// of the scope actor, which reserves another block by message and adds it when approved; until
/// then the muxer is refused, so a window grows only once its memory has been approved. What is
/// given back beyond a few blocks goes back up the path.
/// </summary>
internal sealed class MemoryLease(IActorRef scope, long block) : IMemoryAccount
{
    // Granted minus taken, the one figure approvals are decided on, by compare-and-swap: a lease
    // approves within what its scope actor already reserved, never past it.
    private long _available;
    private long _granted;
    private int _asking;
    private int _returning;
    private volatile bool _closed;
    private Action<bool>? _waiter;
    private long _headroom;

    public long Block { get; } = block;

    /// <summary>
    /// What the lease keeps approved however little is used: as much as one read may take (or
    /// more, the last headroom the connection stage made sure of, when TLS holds bytes on their
    /// way), so that giving back never races a read the stage already approved.
    /// </summary>
    public long Keep => Math.Max(ScopeSpanActor.FirstLease, Volatile.Read(ref _headroom));

    /// <summary>What the scope actor reserved for this lease so far (written by the actor only).</summary>
    public long Granted => Volatile.Read(ref _granted);

    /// <summary>What the muxer holds of it now.</summary>
    public long Used => Volatile.Read(ref _granted) - Volatile.Read(ref _available);

    public bool TryReserve(long bytes)
    {
        if (bytes < 0)
            return false;
        while (!_closed)
        {
            var available = Volatile.Read(ref _available);
            if (available < bytes)
            {
                Ask(bytes - available);
                return false;
            }
            if (Interlocked.CompareExchange(ref _available, available - bytes, available) != available)
                continue;
            // Topped up ahead of need, so the next window growth seldom waits.
            if (available - bytes < Block / 2)
                Ask(0);
            return true;
        }
        return false;
    }

    public void Release(long bytes)
    {
        if (_closed || bytes <= 0)
            return;
        var available = Interlocked.Add(ref _available, bytes);
        if (available > Keep + 4 * Block && Interlocked.CompareExchange(ref _returning, 1, 0) == 0)
            scope.Tell(new ScopeSpanActor.LeaseExcess());
    }

    public bool EnsureHeadroom(long bytes, Action<bool> decided)
    {
        if (_closed)
            return true; // the connection is going; its reads charge nothing more
        Volatile.Write(ref _headroom, bytes);
        var available = Volatile.Read(ref _available);
        if (available >= bytes)
            return true;
        Volatile.Write(ref _waiter, decided);
        // Asked after the waiter is set, so a grant that lands in between still finds it.
        Ask(bytes - available);
        if (Volatile.Read(ref _available) >= bytes && Interlocked.Exchange(ref _waiter, null) is { })
            return true;
        return false;
    }

    /// <summary>The scope actor reserved <paramref name="bytes"/> more for the lease.</summary>
    internal void Grant(long bytes)
    {
        Interlocked.Add(ref _granted, bytes);
        Interlocked.Add(ref _available, bytes);
        Volatile.Write(ref _asking, 0);
        Interlocked.Exchange(ref _waiter, null)?.Invoke(true);
    }

    /// <summary>The scope actor could not reserve more; the next shortfall asks again.</summary>
    internal void Denied()
    {
        Volatile.Write(ref _asking, 0);
        Interlocked.Exchange(ref _waiter, null)?.Invoke(false);
    }

    /// <summary>Takes back what is unused beyond <paramref name="keep"/>, for the scope actor to give back up its path.</summary>
    internal long TakeExcess(long keep)
    {
        Volatile.Write(ref _returning, 0);
        while (true)
        {
            var available = Volatile.Read(ref _available);
            var excess = available - keep;
            if (excess <= 0)
                return 0;
            if (Interlocked.CompareExchange(ref _available, keep, available) == available)
            {
                Interlocked.Add(ref _granted, -excess);
                return excess;
            }
        }
    }

    /// <summary>The connection's scope closed: nothing more is approved, and its actor gives everything back.</summary>
    internal void Close() => _closed = true;

    private void Ask(long shortfall)
    {
        if (Interlocked.CompareExchange(ref _asking, 1, 0) == 0)
            scope.Tell(new ScopeSpanActor.LeaseLow(shortfall));
    }
}
