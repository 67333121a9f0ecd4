using Akka.IO;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>The pool is process-wide: the tests that count its idle arrays run while no other test uses it.</summary>
[CollectionDefinition(nameof(TransportBuffersTests), DisableParallelization = true)]
public sealed class TransportBuffersAlone;

[Collection(nameof(TransportBuffersTests))]
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
    public void Arrays_beyond_those_kept_for_good_are_reused_until_a_full_collection_takes_them()
    {
        var burst = Enumerable.Range(0, TransportBuffers.Retained + 300).Select(_ => TransportBuffers.Rent()).ToList();
        burst.ForEach(TransportBuffers.Return);
        Assert.Equal(TransportBuffers.Retained, TransportBuffers.IdleCount);
        Assert.Equal(300, TransportBuffers.SpareCount);

        // While the load lasts, spares come back before anything new is made.
        var made = TransportBuffers.Made;
        var again = Enumerable.Range(0, TransportBuffers.Retained + 300).Select(_ => TransportBuffers.Rent()).ToList();
        Assert.Equal(made, TransportBuffers.Made);
        again.ForEach(TransportBuffers.Return);
        again.Clear();
        burst.Clear();

        // After it, a full collection lets the spares go; those kept for good stay.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(0, TransportBuffers.SpareCount);
        Assert.Equal(TransportBuffers.Retained, TransportBuffers.IdleCount);
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
