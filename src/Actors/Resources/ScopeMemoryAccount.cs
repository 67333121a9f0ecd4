using Libp2p.Actors.Network;
using Libp2p.Protocols.Muxing;

namespace Libp2p.Actors.Resources;

/// <summary>Muxer window growth charged to a resource scope at low priority, as go-yamux does.</summary>
public sealed class ScopeMemoryAccount(ResourceScope scope) : IMemoryAccount
{
    /// <inheritdoc />
    public bool TryReserve(long bytes)
    {
        try
        {
            scope.ReserveMemory(checked((int)bytes), ReservationPriority.Low);
            return true;
        }
        catch (Exception e) when (e is ResourceLimitExceededException or ResourceScopeClosedException or OverflowException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Release(long bytes) => scope.ReleaseMemory(checked((int)bytes));
}
