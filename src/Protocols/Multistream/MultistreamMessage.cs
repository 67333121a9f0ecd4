using System.Buffers;
using System.Text;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Multistream;

/// <summary>
/// The framing of multistream-select 1.0: an unsigned varint length, then that many bytes of UTF-8
/// text ending in <c>'\n'</c> (the length counts the newline).
/// </summary>
public static class MultistreamMessage
{
    /// <summary>The protocol's own ID, sent first by both sides.</summary>
    public const string Header = "/multistream/1.0.0";

    /// <summary>The answer to a proposal the responder does not support.</summary>
    public const string NotAvailable = "na";

    /// <summary>The request for the responder's protocol list.</summary>
    public const string List = "ls";

    /// <summary>
    /// The longest message accepted, newline included: go-multistream's limit. Protocol IDs are
    /// short; a peer sending more is not negotiating.
    /// </summary>
    public const int MaxLength = 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>Writes <paramref name="message"/> framed.</summary>
    /// <exception cref="ArgumentException">The text is empty, holds a newline, or is too long.</exception>
    public static void Write(IBufferWriter<byte> output, string message)
    {
        ArgumentNullException.ThrowIfNull(output);
        Validate(message);
        var length = StrictUtf8.GetByteCount(message) + 1;
        if (length > MaxLength)
            throw new ArgumentException($"multistream: a message of {length} bytes is over the limit of {MaxLength}", nameof(message));
        Varint.Write(output, (ulong)length);
        var span = output.GetSpan(length);
        var written = StrictUtf8.GetBytes(message, span);
        span[written] = (byte)'\n';
        output.Advance(written + 1);
    }

    /// <summary>Writes the answer to <c>ls</c>: one message holding each protocol as a framed line, then a newline.</summary>
    public static void WriteList(IBufferWriter<byte> output, IEnumerable<string> protocols)
    {
        var inner = new ArrayBufferWriter<byte>();
        foreach (var protocol in protocols)
            Write(inner, protocol);
        Varint.Write(output, (ulong)inner.WrittenCount + 1);
        output.Write(inner.WrittenSpan);
        output.Write("\n"u8);
    }

    /// <summary>
    /// Reads one message from the start of <paramref name="input"/>.
    /// </summary>
    /// <returns><see cref="OperationStatus.Done"/> with the text and the bytes it took, or <see cref="OperationStatus.NeedMoreData"/>.</returns>
    /// <exception cref="FormatException">A bad length, a message over <see cref="MaxLength"/>, no final newline, or invalid UTF-8.</exception>
    public static OperationStatus TryRead(ReadOnlySpan<byte> input, out string message, out int consumed)
    {
        message = "";
        consumed = 0;
        var status = Varint.TryRead(input, out var length, out var prefix);
        if (status == OperationStatus.InvalidData)
            throw new FormatException("multistream: the message length is not a valid varint");
        if (status == OperationStatus.NeedMoreData)
            return status;
        if (length > MaxLength)
            throw new FormatException($"multistream: a message of {length} bytes is over the limit of {MaxLength}");
        if (length == 0)
            throw new FormatException("multistream: an empty message (no newline)");
        if (input.Length - prefix < (int)length)
            return OperationStatus.NeedMoreData;
        var body = input.Slice(prefix, (int)length);
        if (body[^1] != (byte)'\n')
            throw new FormatException("multistream: the message does not end in a newline");
        try
        {
            message = StrictUtf8.GetString(body[..^1]);
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException("multistream: the message is not valid UTF-8", e);
        }
        consumed = prefix + (int)length;
        return OperationStatus.Done;
    }

    /// <summary>Checks a protocol ID or command: non-empty, no newline.</summary>
    public static void Validate(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Length == 0)
            throw new ArgumentException("multistream: a protocol ID may not be empty", nameof(message));
        if (message.Contains('\n', StringComparison.Ordinal))
            throw new ArgumentException($"multistream: protocol ID '{message}' holds a newline", nameof(message));
    }
}
