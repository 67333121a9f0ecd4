namespace Libp2p.Protocols.Muxing;

/// <summary>
/// Where a muxer asks for memory it may do without, such as a larger receive window: a refusal
/// only means it keeps what it has. The runtime backs it with a resource scope.
/// </summary>
public interface IMemoryAccount
{
    /// <summary>Reserves <paramref name="bytes"/> at low priority; false when refused.</summary>
    bool TryReserve(long bytes);

    /// <summary>Gives back what <see cref="TryReserve"/> granted.</summary>
    void Release(long bytes);
}
