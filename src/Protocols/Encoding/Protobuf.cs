using System.Buffers;
using System.Numerics;

namespace Libp2p.Protocols.Encoding;

/// <summary>Writes the protobuf wire format, and computes sizes ahead so a length prefix can be written first.</summary>
internal static class ProtobufWriter
{
    /// <summary>Wire type 0.</summary>
    public const int Varint = 0;

    /// <summary>Wire type 2.</summary>
    public const int LengthDelimited = 2;

    public static int VarintLength(ulong value) => Math.Max(1, (64 - BitOperations.LeadingZeroCount(value) + 6) / 7);

    public static void WriteVarint(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        output.Advance(i);
    }

    /// <summary>The encoded size of a length-delimited field carrying <paramref name="length"/> bytes.</summary>
    public static int BytesFieldLength(int field, int length) =>
        VarintLength((ulong)field << 3) + VarintLength((ulong)length) + length;

    public static int StringFieldLength(int field, string value) => BytesFieldLength(field, System.Text.Encoding.UTF8.GetByteCount(value));

    public static int VarintFieldLength(int field, ulong value) => VarintLength((ulong)field << 3) + VarintLength(value);

    public static void WriteBytes(IBufferWriter<byte> output, int field, ReadOnlySpan<byte> value)
    {
        WriteLengthPrefix(output, field, value.Length);
        output.Write(value);
    }

    public static void WriteString(IBufferWriter<byte> output, int field, string value)
    {
        var length = System.Text.Encoding.UTF8.GetByteCount(value);
        WriteLengthPrefix(output, field, length);
        var written = System.Text.Encoding.UTF8.GetBytes(value, output.GetSpan(length));
        output.Advance(written);
    }

    public static void WriteVarintField(IBufferWriter<byte> output, int field, ulong value)
    {
        WriteVarint(output, (ulong)field << 3 | Varint);
        WriteVarint(output, value);
    }

    /// <summary>The key and length of a length-delimited field whose <paramref name="length"/> bytes the caller writes next.</summary>
    public static void WriteLengthPrefix(IBufferWriter<byte> output, int field, int length)
    {
        WriteVarint(output, (ulong)field << 3 | LengthDelimited);
        WriteVarint(output, (ulong)length);
    }
}

/// <summary>Reads messages with the code protoc generates, failing as our own readers do.</summary>
internal static class ProtobufMessages
{
    /// <summary>Parses <paramref name="bytes"/> as one <typeparamref name="T"/>.</summary>
    /// <exception cref="FormatException">Malformed protobuf; the message names <paramref name="what"/> was read.</exception>
    public static T Parse<T>(Google.Protobuf.MessageParser<T> parser, ReadOnlySpan<byte> bytes, string what) where T : Google.Protobuf.IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new FormatException($"{what}: {e.Message}", e);
        }
    }
}
