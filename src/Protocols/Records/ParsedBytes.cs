using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Libp2p.Protocols.Records;

/// <summary>Bytes fields of a message the generated code has just parsed, kept without a second copy.</summary>
internal static class ParsedBytes
{
    /// <summary>
    /// The array behind <paramref name="bytes"/>, when it is the whole of one: parsing from a span,
    /// Google.Protobuf gives each bytes field an array of its own, which no one else sees once the
    /// parsed message is dropped. Anything else is copied.
    /// </summary>
    public static byte[] Take(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToByteArray();
}
