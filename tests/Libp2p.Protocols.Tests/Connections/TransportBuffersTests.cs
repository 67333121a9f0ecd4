using Akka.IO;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

public sealed class TransportBuffersTests
{
    [Fact]
    public void An_array_given_back_is_reused()
    {
        // Other tests use the pool meanwhile, so the count is loose; without reuse it would grow by 1,000.
        var made = TransportBuffers.Made;
        for (var i = 0; i < 1000; i++)
        {
            var array = TransportBuffers.Rent();
            TransportBuffers.Return(ByteString.FromBytes(array, 0, 10));
        }
        Assert.InRange(TransportBuffers.Made - made, 0, 200);
    }

    [Fact]
    public void A_foreign_array_of_the_same_size_is_never_taken()
    {
        var foreign = new byte[TransportBuffers.Size];
        TransportBuffers.Return(ByteString.FromBytes(foreign));
        TransportBuffers.Return(foreign);
        var next = Enumerable.Range(0, TransportBuffers.Retained + 1).Select(_ => TransportBuffers.Rent()).ToList();
        // By reference: xunit compares arrays by content, and a fresh array is as zero as the foreign one.
        Assert.DoesNotContain(next, rented => ReferenceEquals(rented, foreign));
        next.ForEach(TransportBuffers.Return);
    }
}
