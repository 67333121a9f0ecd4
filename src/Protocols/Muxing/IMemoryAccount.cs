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
}
