using System.Buffers.Binary;

namespace Libp2p.Protocols.Muxing.Yamux;

/// <summary>The yamux frame types.</summary>
public enum YamuxFrameType : byte
{
    /// <summary>Stream data; the length is the payload's.</summary>
    Data = 0,

    /// <summary>A receive-window grant; the length is the delta.</summary>
    WindowUpdate = 1,

    /// <summary>A liveness probe (SYN) or its answer (ACK); the length is an opaque value.</summary>
    Ping = 2,

    /// <summary>The session is ending; the length is the reason code.</summary>
    GoAway = 3,
}

/// <summary>The yamux frame flags.</summary>
[Flags]
public enum YamuxFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Opens a stream, or asks for a ping answer.</summary>
    Syn = 1,

    /// <summary>Acknowledges a stream, or answers a ping.</summary>
    Ack = 2,

    /// <summary>Half-closes the sender's side of a stream.</summary>
    Fin = 4,

    /// <summary>Resets a stream.</summary>
    Rst = 8,
}

/// <summary>The go-away reason codes.</summary>
public static class YamuxGoAway
{
    /// <summary>Normal termination.</summary>
    public const uint Normal = 0;

    /// <summary>The remote broke the protocol.</summary>
    public const uint ProtocolError = 1;

    /// <summary>An internal error.</summary>
    public const uint InternalError = 2;
}

/// <summary>
/// The 12-byte yamux header: version (0), type, flags (16 bits), stream ID (32 bits), length
/// (32 bits), big-endian.
/// </summary>
public readonly record struct YamuxFrameHeader(YamuxFrameType Type, YamuxFlags Flags, uint StreamId, uint Length)
{
    /// <summary>The header's size.</summary>
    public const int Size = 12;

    /// <summary>The only protocol version.</summary>
    public const byte Version = 0;

    /// <summary>Writes the header into the first 12 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Length);
    }

    /// <summary>Reads a header from the first 12 bytes of <paramref name="source"/>.</summary>
    /// <exception cref="FormatException">A version other than 0, or an unknown frame type.</exception>
    public static YamuxFrameHeader Read(ReadOnlySpan<byte> source)
    {
        if (source[0] != Version)
            throw new FormatException($"yamux: unsupported version {source[0]}");
        if (source[1] > (byte)YamuxFrameType.GoAway)
            throw new FormatException($"yamux: unknown frame type {source[1]}");
        return new YamuxFrameHeader(
            (YamuxFrameType)source[1],
            (YamuxFlags)BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[8..]));
    }
}
