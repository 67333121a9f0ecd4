using System.Runtime.CompilerServices;
using Akka.IO;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// The arrays that carry a connection's bytes between its connection stage and its transport
/// stage, in both directions, reused instead of allocated per write and per read. A
/// <see cref="ByteString"/> over one of them is handed on like any other, and whoever consumes it
/// last may give its array back with <see cref="Return(ByteString)"/>: the socket stage once the send is done,
/// the connection stage once it decrypted what the transport read. A consumer that does not know
/// the convention keeps the ByteString as long as it likes; its array is then simply collected.
/// Only arrays this class made are ever taken back (a weak table remembers them), so a foreign
/// ByteString passed to <see cref="Return(ByteString)"/> is left alone.
/// </summary>
/// <remarks>
/// One size, <see cref="Size"/>: a full Noise message (65,537 bytes) with room for small frames
/// batched beside it, and under the 85,000-byte threshold of the large-object heap. Reuse matters
/// beyond the allocation: a fresh array held while it waits in the transport or the muxer is copied
/// by the GC from generation to generation, while reused ones settle in the oldest. Up to
/// <see cref="Retained"/> idle arrays are kept for good; up to <see cref="Spares"/> more (100 busy
/// streams hold several hundred in flight) are kept only weakly, as Go's <c>sync.Pool</c> keeps
/// its items: reused while the load lasts, and let go by the next full collection after it, so
/// what a burst needed is not kept. No timer, no work while idle.
/// </remarks>
internal static class TransportBuffers
{
    /// <summary>The size of every array: 80 KiB, below the large-object heap.</summary>
    public const int Size = 80 * 1024;

    /// <summary>Idle arrays kept for good, at most (10 MiB): what a node holds after a full collection.</summary>
    public const int Retained = 128;

    /// <summary>Idle arrays kept beyond <see cref="Retained"/>, weakly, at most (80 MiB while no full collection runs).</summary>
    public const int Spares = 1024;

    private static readonly ConditionalWeakTable<byte[], object> Ours = new();
    private static readonly Stack<byte[]> Idle = new(Retained);
    // Weak references to idle arrays, and the references emptied for reuse (none is made per return once warm).
    private static readonly Stack<WeakReference<byte[]>> Spare = new();
    private static readonly Stack<WeakReference<byte[]>> EmptyReferences = new();
    private static readonly Lock Gate = new();
    private static long _made;

    /// <summary>Arrays made since the process started (a test's and a benchmark's view of reuse).</summary>
    public static long Made => Interlocked.Read(ref _made);

    /// <summary>Arrays this pool made that are still alive, idle or not (walks a weak table: for measurements only).</summary>
    public static int LiveCount => Ours.Count();

    /// <summary>Idle arrays held for good now.</summary>
    public static int IdleCount
    {
        get
        {
            lock (Gate)
                return Idle.Count;
        }
    }

    /// <summary>Idle arrays kept weakly that the GC has not taken yet.</summary>
    public static int SpareCount
    {
        get
        {
            lock (Gate)
                return Spare.Count(reference => reference.TryGetTarget(out _));
        }
    }

    /// <summary>An array of <see cref="Size"/> bytes, reused where one is idle.</summary>
    public static byte[] Rent()
    {
        lock (Gate)
        {
            if (Idle.TryPop(out var idle))
                return idle;
            while (Spare.TryPop(out var reference))
            {
                var alive = reference.TryGetTarget(out var spare);
                reference.SetTarget(null!);
                EmptyReferences.Push(reference);
                if (alive)
                    return spare!;
            }
        }
        var array = GC.AllocateUninitializedArray<byte>(Size);
        Ours.Add(array, Ours);
        Interlocked.Increment(ref _made);
        return array;
    }

    /// <summary>Gives an array from <see cref="Rent"/> back; a foreign array is ignored.</summary>
    public static void Return(byte[] array)
    {
        if (array.Length != Size || !Ours.TryGetValue(array, out _))
            return;
        lock (Gate)
        {
            if (Idle.Count < Retained)
            {
                Idle.Push(array);
                return;
            }
            if (Spare.Count >= Spares)
                return;
            if (EmptyReferences.TryPop(out var reference))
                reference.SetTarget(array);
            else
                reference = new WeakReference<byte[]>(array);
            Spare.Push(reference);
        }
    }

    /// <summary>
    /// An array of at least <paramref name="size"/> bytes, for a buffer that goes back with
    /// <see cref="ReturnPooled"/>: one of this pool's above 4 KiB (up to <see cref="Size"/>), else
    /// the shared pool's. Large buffers of the byte path are rented on one thread and returned on
    /// another, where the shared pool's per-core stacks miss and its trimming drops them; this
    /// pool's single stack does neither.
    /// </summary>
    public static byte[] RentAtLeast(int size) =>
        size > 4096 && size <= Size ? Rent() : System.Buffers.ArrayPool<byte>.Shared.Rent(size);

    /// <summary>Gives back an array from <see cref="Rent"/> or, if it is not one, from <see cref="System.Buffers.ArrayPool{T}.Shared"/>.</summary>
    public static void ReturnPooled(byte[] array)
    {
        if (array.Length == Size && Ours.TryGetValue(array, out _))
            Return(array);
        else
            System.Buffers.ArrayPool<byte>.Shared.Return(array);
    }

    /// <summary>
    /// Gives back the array under <paramref name="bytes"/> if it is one of ours; the caller must be
    /// its last holder (nothing sliced from it may live on).
    /// </summary>
    public static void Return(ByteString bytes)
    {
        if (bytes.Count == 0 || ByteStringSegments.Single(bytes) is not { } array)
            return;
        Return(array);
    }
}
