using System.Buffers;
using Google.Protobuf;

namespace Libp2p.Protocols.Encoding;

/// <summary>
/// The framing the relay, DCUtR and AutoNAT protocols use on their streams: an unsigned varint
/// length, then a protobuf message generated from the spec's <c>.proto</c>. Reads take exactly the
/// frame's bytes from the stream, never more, so what follows (a relayed connection's first bytes)
/// stays in the stream for whoever reads next.
/// </summary>
public static class DelimitedMessages
{
    /// <summary>The message with its varint length prefix.</summary>
    public static byte[] ToDelimitedBytes(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var size = message.CalculateSize();
        var output = new ArrayBufferWriter<byte>(size + Varint.MaxLength);
        Varint.Write(output, (ulong)size);
        message.WriteTo(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Writes the message with its varint length prefix and flushes.</summary>
    public static async Task WriteAsync(Stream stream, IMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await stream.WriteAsync(ToDelimitedBytes(message), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one framed message of at most <paramref name="maxSize"/> bytes (prefix excluded).
    /// </summary>
    /// <param name="stream">Where the frame comes from.</param>
    /// <param name="parser">The generated message's parser.</param>
    /// <param name="maxSize">The largest message accepted; a larger prefix fails before its body is read.</param>
    /// <param name="what">Names the message in errors, e.g. <c>circuit relay HopMessage</c>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The message, or null when the stream ended cleanly before its first byte.</returns>
    /// <exception cref="InvalidDataException">A bad or oversized prefix, a frame cut short, or a body that is not the message.</exception>
    public static async Task<T?> ReadAsync<T>(Stream stream, MessageParser<T> parser, int maxSize, string what, CancellationToken cancellationToken = default)
        where T : class, IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        // Byte by byte: the prefix is at most a few bytes, and reading ahead would take bytes that
        // belong to whatever the stream carries after this frame.
        var prefix = new byte[Varint.MaxLength];
        var one = new byte[1];
        var used = 0;
        ulong length;
        while (true)
        {
            if (await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false) == 0)
            {
                if (used == 0)
                    return null;
                throw new InvalidDataException($"{what}: the stream ended inside the length prefix");
            }
            prefix[used++] = one[0];
            var status = Varint.TryRead(prefix.AsSpan(0, used), out length, out _);
            if (status == OperationStatus.Done)
                break;
            if (status == OperationStatus.InvalidData || used == prefix.Length)
                throw new InvalidDataException($"{what}: the length prefix is not a valid varint");
        }
        if (length > (ulong)maxSize)
            throw new InvalidDataException($"{what}: the length prefix says {length} bytes, above the limit of {maxSize}");
        var body = new byte[(int)length];
        var read = await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < body.Length)
            throw new InvalidDataException($"{what}: the stream ended after {read} of the message's {body.Length} bytes");
        try
        {
            return parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{what}: the message is malformed: {e.Message}", e);
        }
    }
}
