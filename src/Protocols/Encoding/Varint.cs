using System.Buffers;

namespace Libp2p.Protocols.Encoding;

/// <summary>
/// The multiformats unsigned varint: little-endian groups of 7 bits, the high bit of each byte set
/// while more follow. The spec caps it at 9 bytes (63 bits) and requires the minimal encoding, so a
/// value has exactly one valid form and length-prefixed data cannot be smuggled past a parser.
/// </summary>
public static class Varint
{
    /// <summary>The longest valid encoding, in bytes.</summary>
    public const int MaxLength = 9;

    /// <summary>The largest value an unsigned varint can carry: 2^63 - 1.</summary>
    public const ulong MaxValue = (1UL << 63) - 1;

    /// <summary>How many bytes <paramref name="value"/> takes once encoded.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is above <see cref="MaxValue"/>.</exception>
    public static int GetLength(ulong value)
    {
        if (value > MaxValue)
            throw new ArgumentOutOfRangeException(nameof(value), value, "an unsigned varint carries at most 63 bits");
        // 1 byte per started group of 7 significant bits; zero still takes one byte.
        return Math.Max(1, (64 - System.Numerics.BitOperations.LeadingZeroCount(value) + 6) / 7);
    }

    /// <summary>Encodes <paramref name="value"/> into <paramref name="destination"/>.</summary>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException">The destination is shorter than <see cref="GetLength"/>.</exception>
    public static int Write(ulong value, Span<byte> destination)
    {
        var length = GetLength(value);
        if (destination.Length < length)
            throw new ArgumentException($"a varint of {length} bytes does not fit in {destination.Length} bytes", nameof(destination));
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Encodes <paramref name="value"/> into <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, ulong value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var written = Write(value, writer.GetSpan(MaxLength));
        writer.Advance(written);
    }

    /// <summary>Encodes <paramref name="value"/> as a new array.</summary>
    public static byte[] Encode(ulong value)
    {
        var bytes = new byte[GetLength(value)];
        Write(value, bytes);
        return bytes;
    }

    /// <summary>
    /// Decodes a varint from the start of <paramref name="source"/> without throwing, for parsers of
    /// streamed input that must tell "wait for more bytes" apart from "this is garbage".
    /// </summary>
    /// <returns>
    /// <see cref="OperationStatus.Done"/> with the value and its length;
    /// <see cref="OperationStatus.NeedMoreData"/> when the input ends inside the varint;
    /// <see cref="OperationStatus.InvalidData"/> when it is longer than 9 bytes or not minimal.
    /// </returns>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out ulong value, out int consumed)
    {
        value = 0;
        consumed = 0;
        var limit = Math.Min(source.Length, MaxLength);
        for (var i = 0; i < limit; i++)
        {
            var b = source[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) != 0)
                continue;
            // A trailing zero group means a shorter encoding existed.
            if (b == 0 && i > 0)
            {
                value = 0;
                return OperationStatus.InvalidData;
            }
            consumed = i + 1;
            return OperationStatus.Done;
        }
        value = 0;
        return source.Length >= MaxLength ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
    }

    /// <summary>Decodes a varint from the start of <paramref name="source"/>.</summary>
    /// <param name="source">The bytes, starting with the varint.</param>
    /// <param name="consumed">How many bytes the varint took.</param>
    /// <exception cref="FormatException">The input is truncated, longer than 9 bytes or not minimal.</exception>
    public static ulong Read(ReadOnlySpan<byte> source, out int consumed)
    {
        switch (TryRead(source, out var value, out consumed))
        {
            case OperationStatus.Done:
                return value;
            case OperationStatus.NeedMoreData:
                throw new FormatException(source.IsEmpty
                    ? "varint: the input is empty"
                    : $"varint: the input ends after {source.Length} byte(s) inside the varint");
            default:
                throw new FormatException(Describe(source));
        }
    }

    /// <summary>
    /// Decodes a varint used as a length or a code, which must fit in an <see cref="int"/>;
    /// <paramref name="what"/> names it in the error.
    /// </summary>
    /// <exception cref="FormatException">The varint is malformed or larger than <paramref name="max"/>.</exception>
    public static int ReadInt32(ReadOnlySpan<byte> source, out int consumed, string what, int max = int.MaxValue)
    {
        var value = Read(source, out consumed);
        if (value > (ulong)max)
            throw new FormatException($"{what}: {value} is larger than the limit of {max}");
        return (int)value;
    }

    private static string Describe(ReadOnlySpan<byte> source)
    {
        for (var i = 0; i < Math.Min(source.Length, MaxLength); i++)
        {
            if ((source[i] & 0x80) == 0)
                return $"varint: not minimally encoded (byte {i} is a trailing zero group)";
        }
        return $"varint: longer than the maximum of {MaxLength} bytes";
    }
}
