using System.Runtime.CompilerServices;
using Akka.IO;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// The arrays under a <see cref="ByteString"/>, to send them as they are in a gathered send.
/// Akka.IO's <c>ByteString.Buffers</c> is internal (Akka.NET 1.5); it is read through an
/// <see cref="UnsafeAccessorAttribute"/>, bound by the JIT, without reflection. Should a later
/// Akka.NET drop it, the bytes are copied instead (a test checks which path is taken).
/// </summary>
internal static class ByteStringSegments
{
    private static bool _zeroCopy = true;

    /// <summary>Whether segments come straight from the ByteString (false: from a copy).</summary>
    public static bool IsZeroCopy
    {
        get
        {
            if (_zeroCopy)
                _ = TryBuffers(ByteString.Empty);
            return _zeroCopy;
        }
    }

    /// <summary>Appends the non-empty segments of <paramref name="bytes"/> to <paramref name="into"/>.</summary>
    public static void AddTo(ByteString bytes, List<ArraySegment<byte>> into)
    {
        if (bytes.Count == 0)
            return;
        if (TryBuffers(bytes) is { } buffers)
        {
            foreach (var segment in buffers)
            {
                if (segment.Count > 0)
                    into.Add(segment);
            }
            return;
        }
        into.Add(new ArraySegment<byte>(bytes.ToArray()));
    }

    /// <summary>The bytes as one piece of memory: the array under them when there is one, else a copy.</summary>
    public static ReadOnlyMemory<byte> Memory(ByteString bytes) =>
        TryBuffers(bytes) is { Count: 1 } buffers ? buffers[0].AsMemory() : bytes.ToArray();

    /// <summary>The one array under <paramref name="bytes"/>, or null if it spans several (or they cannot be read).</summary>
    public static byte[]? Single(ByteString bytes) =>
        TryBuffers(bytes) is { Count: 1 } buffers ? buffers[0].Array : null;

    private static IList<ArraySegment<byte>>? TryBuffers(ByteString bytes)
    {
        if (!_zeroCopy)
            return null;
        try
        {
            return Buffers(bytes);
        }
        catch (MissingMethodException)
        {
            _zeroCopy = false;
            return null;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_Buffers")]
    private static extern IList<ArraySegment<byte>> Buffers(ByteString bytes);
}
