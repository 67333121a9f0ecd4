using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Identify;

// The framing identify uses on its stream: an unsigned varint length, then the message. A stream
// may carry more than one frame: go sends its signed peer record in a second frame when the
// message would exceed 2 KiB (its legacyIDSize; we do the same); the receiver merges them (Merge does that).
public sealed partial record IdentifyMessage
{
    /// <summary>Writes the varint length prefix, then the message.</summary>
    public void WriteDelimited(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Varint.Write(output, (ulong)GetEncodedLength());
        WriteTo(output);
    }

    /// <summary>The message with its varint length prefix.</summary>
    public byte[] ToDelimitedBytes()
    {
        var output = new ArrayBufferWriter<byte>(GetEncodedLength() + Varint.MaxLength);
        WriteDelimited(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads one framed message, limited to <see cref="DefaultMaxMessageSize"/> bytes.</summary>
    /// <inheritdoc cref="TryReadDelimited(ReadOnlySpan{byte}, int, out IdentifyMessage?, out int)"/>
    public static bool TryReadDelimited(ReadOnlySpan<byte> input, [NotNullWhen(true)] out IdentifyMessage? message, out int consumed) =>
        TryReadDelimited(input, DefaultMaxMessageSize, out message, out consumed);

    /// <summary>Reads one framed message from the start of <paramref name="input"/>.</summary>
    /// <param name="input">The bytes received so far.</param>
    /// <param name="maxSize">The largest message accepted, without its prefix.</param>
    /// <param name="message">The message, when one was complete.</param>
    /// <param name="consumed">The bytes it took, prefix included; 0 when false.</param>
    /// <returns>False when more bytes are needed.</returns>
    /// <exception cref="FormatException">The prefix is not a valid varint or exceeds <paramref name="maxSize"/>, or the message is malformed.</exception>
    public static bool TryReadDelimited(ReadOnlySpan<byte> input, int maxSize, [NotNullWhen(true)] out IdentifyMessage? message, out int consumed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        message = null;
        consumed = 0;
        if (!TryReadPrefix(input, maxSize, out var length, out var prefix) || input.Length - prefix < length)
            return false;
        message = Parse(input.Slice(prefix, length));
        consumed = prefix + length;
        return true;
    }

    /// <summary>Reads one framed message, limited to <see cref="DefaultMaxMessageSize"/> bytes.</summary>
    /// <inheritdoc cref="TryReadDelimited(ReadOnlySequence{byte}, int, out IdentifyMessage?, out int)"/>
    public static bool TryReadDelimited(ReadOnlySequence<byte> input, [NotNullWhen(true)] out IdentifyMessage? message, out int consumed) =>
        TryReadDelimited(input, DefaultMaxMessageSize, out message, out consumed);

    /// <summary>Reads one framed message from the start of <paramref name="input"/>, which may span segments (a pipe's buffer).</summary>
    /// <param name="input">The bytes received so far.</param>
    /// <param name="maxSize">The largest message accepted, without its prefix.</param>
    /// <param name="message">The message, when one was complete.</param>
    /// <param name="consumed">The bytes it took, prefix included; 0 when false.</param>
    /// <returns>False when more bytes are needed.</returns>
    /// <exception cref="FormatException">The prefix is not a valid varint or exceeds <paramref name="maxSize"/>, or the message is malformed.</exception>
    public static bool TryReadDelimited(ReadOnlySequence<byte> input, int maxSize, [NotNullWhen(true)] out IdentifyMessage? message, out int consumed)
    {
        if (input.IsSingleSegment)
            return TryReadDelimited(input.FirstSpan, maxSize, out message, out consumed);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        message = null;
        consumed = 0;
        Span<byte> head = stackalloc byte[Varint.MaxLength];
        head = head[..(int)Math.Min(input.Length, Varint.MaxLength)];
        input.Slice(0, head.Length).CopyTo(head);
        if (!TryReadPrefix(head, maxSize, out var length, out var prefix) || input.Length - prefix < length)
            return false;
        var body = input.Slice(prefix, length);
        message = Parse(body.IsSingleSegment ? body.FirstSpan : body.ToArray());
        consumed = prefix + length;
        return true;
    }

    private static bool TryReadPrefix(ReadOnlySpan<byte> input, int maxSize, out int length, out int prefix)
    {
        length = 0;
        switch (Varint.TryRead(input, out var value, out prefix))
        {
            case OperationStatus.NeedMoreData:
                return false;
            case OperationStatus.InvalidData:
                throw new FormatException($"{What}: the length prefix is not a valid varint (too long or not minimal)");
        }
        // Refused before the body arrives, so a peer cannot make us buffer past the limit.
        if (value > (ulong)maxSize)
            throw new FormatException($"{What}: the length prefix says {value} bytes, above the limit of {maxSize}");
        length = (int)value;
        return true;
    }
}
