using Libp2p.Protocols.Muxing;

namespace Libp2p.Protocols.Tests.Muxing;

/// <summary>A memory account with a fixed budget that remembers what it granted.</summary>
internal sealed class TestMemoryAccount(long available) : IMemoryAccount
{
    public long Reserved { get; private set; }

    public long Peak { get; private set; }

    public int Refusals { get; private set; }

    public bool TryReserve(long bytes)
    {
        if (Reserved + bytes > available)
        {
            Refusals++;
            return false;
        }
        Reserved += bytes;
        Peak = Math.Max(Peak, Reserved);
        return true;
    }

    public void Release(long bytes)
    {
        Reserved -= bytes;
        if (Reserved < 0)
            throw new InvalidOperationException($"released {-Reserved} bytes more than reserved");
    }
}
