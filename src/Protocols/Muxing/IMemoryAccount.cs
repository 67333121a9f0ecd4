namespace Libp2p.Protocols.Muxing;

/// <summary>
/// Where a muxer charges memory a peer makes it hold: a larger receive window (refused, the window
/// stays as it is), the bytes of a frame that arrived in part (refused, the session fails), unread
/// mplex data (refused, the stream is reset). The runtime backs it with the connection's resource scope.
/// </summary>
public interface IMemoryAccount
{
    /// <summary>Reserves <paramref name="bytes"/> at low priority; false when refused.</summary>
    bool TryReserve(long bytes);

    /// <summary>Gives back what <see cref="TryReserve"/> granted.</summary>
    void Release(long bytes);

    /// <summary>
    /// Whether <paramref name="bytes"/> could be reserved now without waiting. When not, the
    /// account asks for more and calls <paramref name="decided"/> once, on any thread, with
    /// whether it got it: the connection reads on only once what it reads can be charged, so a
    /// charge is never refused for want of a grant still on its way. An account that never
    /// waits has headroom always.
    /// </summary>
    bool EnsureHeadroom(long bytes, Action<bool> decided) => true;
}
