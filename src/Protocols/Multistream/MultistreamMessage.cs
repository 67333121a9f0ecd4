using System.Buffers;
using System.Text;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Multistream;

/// <summary>
/// The framing of multistream-select 1.0: an unsigned varint length, then that many bytes of UTF-8
/// text ending in <c>'\n'</c> (the length counts the newline). <c>"na"</c> is <c>03 6e 61 0a</c>.
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
    /// The longest message accepted, newline included: go-multistream's limit (it refuses a longer
    /// length before reading the body). Protocol IDs are short; a peer sending more is not negotiating.
    /// </summary>
    public const int MaxLength = 1024;

    /// <summary>
    /// The longest <c>ls</c> answer <see cref="TryReadList"/> accepts: rust-libp2p's frame limit, the
    /// largest length a 2-byte varint holds. A list outgrows <see cref="MaxLength"/> long before a
    /// single protocol ID would, and go-multistream readers refuse lists over 1024 bytes.
    /// </summary>
    public const int MaxListLength = (1 << 14) - 1;

    internal static ReadOnlySpan<byte> HeaderBytes => "/multistream/1.0.0"u8;

    internal static ReadOnlySpan<byte> NotAvailableBytes => "na"u8;

    internal static ReadOnlySpan<byte> ListBytes => "ls"u8;

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>Writes <paramref name="protocolOrCommand"/> framed: a protocol ID, <c>na</c> or <c>ls</c>.</summary>
    /// <exception cref="ArgumentException">Not a valid protocol ID (see <see cref="Validate"/>) nor a command, or too long.</exception>
    public static void Write(IBufferWriter<byte> output, string protocolOrCommand)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (protocolOrCommand is not (NotAvailable or List))
            Validate(protocolOrCommand);
        WriteText(output, protocolOrCommand, StrictUtf8.GetByteCount(protocolOrCommand));
    }

    /// <summary>
    /// Writes the answer to <c>ls</c>: one message whose payload is each protocol framed as its own
    /// message, then a final newline (so a non-empty list ends in <c>"\n\n"</c>), as the
    /// multistream-select README and rust-libp2p have it. Nothing caps the total: a list over
    /// <see cref="MaxLength"/> is legal, but go-multistream readers refuse it.
    /// </summary>
    /// <exception cref="ArgumentException">A protocol is not a valid protocol ID.</exception>
    public static void WriteList(IBufferWriter<byte> output, IEnumerable<string> protocols)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(protocols);
        // Sized first so the list goes straight into the output instead of through a scratch buffer.
        var payload = 1;
        foreach (var protocol in protocols)
        {
            Validate(protocol);
            var line = StrictUtf8.GetByteCount(protocol) + 1;
            payload += Varint.GetLength((ulong)line) + line;
        }
        Varint.Write(output, (ulong)payload);
        foreach (var protocol in protocols)
            WriteText(output, protocol, StrictUtf8.GetByteCount(protocol));
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    /// <summary>Reads one message from the start of <paramref name="input"/>.</summary>
    /// <param name="input">Received bytes; anything after the first message is left alone.</param>
    /// <param name="message">The text without its newline; empty unless the result is Done.</param>
    /// <param name="consumed">The bytes the message took, length prefix included; 0 unless Done.</param>
    /// <returns><see cref="OperationStatus.Done"/>, or <see cref="OperationStatus.NeedMoreData"/> when the input ends inside the message.</returns>
    /// <exception cref="FormatException">A bad length prefix, a length over <see cref="MaxLength"/>, no final newline, or invalid UTF-8.</exception>
    public static OperationStatus TryRead(ReadOnlySpan<byte> input, out string message, out int consumed)
    {
        message = "";
        var status = TryReadFrame(input, MaxLength, out var text, out consumed, out var error);
        if (status == OperationStatus.InvalidData)
            throw new FormatException(error);
        if (status == OperationStatus.Done && !TryDecode(text, out message))
        {
            consumed = 0;
            throw new FormatException("multistream: the message is not valid UTF-8");
        }
        return status;
    }

    /// <summary>Reads an answer to <c>ls</c> (see <see cref="WriteList"/>) from the start of <paramref name="input"/>.</summary>
    /// <param name="input">Received bytes; anything after the answer is left alone.</param>
    /// <param name="protocols">The listed protocol IDs in order; empty unless the result is Done.</param>
    /// <param name="consumed">The bytes the answer took; 0 unless Done.</param>
    /// <returns><see cref="OperationStatus.Done"/>, or <see cref="OperationStatus.NeedMoreData"/> when the input ends inside the answer.</returns>
    /// <exception cref="FormatException">Bad framing outside or inside, an answer over <see cref="MaxListLength"/>, or an entry that is not a protocol ID.</exception>
    public static OperationStatus TryReadList(ReadOnlySpan<byte> input, out IReadOnlyList<string> protocols, out int consumed)
    {
        protocols = [];
        var status = TryReadFrame(input, MaxListLength, out var payload, out consumed, out var error);
        if (status == OperationStatus.InvalidData)
            throw new FormatException(error);
        if (status == OperationStatus.NeedMoreData)
            return status;
        // The frame reader dropped the final newline; what remains is a run of framed entries.
        var list = new List<string>();
        while (!payload.IsEmpty)
        {
            var entry = TryReadFrame(payload, MaxLength, out var text, out var used, out error);
            if (entry != OperationStatus.Done)
                throw new FormatException($"multistream: ls answer entry {list.Count}: {error ?? "truncated"}");
            if (!TryDecode(text, out var protocol) || !IsProtocolId(protocol))
                throw new FormatException($"multistream: ls answer entry {list.Count} is not a protocol ID");
            list.Add(protocol);
            payload = payload[used..];
        }
        protocols = list;
        return OperationStatus.Done;
    }

    /// <summary>
    /// Checks a protocol ID: not empty, starting with <c>'/'</c> (rust-libp2p refuses others), with
    /// no newline (it would end the message early), valid UTF-16 (it is sent as UTF-8) and short
    /// enough that its message fits <see cref="MaxLength"/>.
    /// </summary>
    /// <exception cref="ArgumentException">It is none of these.</exception>
    public static void Validate(string protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        if (protocol.Length == 0)
            throw new ArgumentException("multistream: a protocol ID may not be empty", nameof(protocol));
        if (protocol[0] != '/')
            throw new ArgumentException($"multistream: protocol ID '{protocol}' does not start with '/'", nameof(protocol));
        if (protocol.Contains('\n', StringComparison.Ordinal))
            throw new ArgumentException($"multistream: protocol ID '{protocol}' holds a newline", nameof(protocol));
        int length;
        try
        {
            length = StrictUtf8.GetByteCount(protocol) + 1;
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"multistream: protocol ID '{protocol}' is not valid UTF-16", nameof(protocol), e);
        }
        if (length > MaxLength)
            throw new ArgumentException($"multistream: protocol ID of {length - 1} bytes is over the limit of {MaxLength - 1}", nameof(protocol));
    }

    /// <summary>Whether <paramref name="text"/> is a well-formed protocol ID as <see cref="Validate"/> sees it (length aside).</summary>
    internal static bool IsProtocolId(ReadOnlySpan<char> text) => text.Length > 0 && text[0] == '/' && !text.Contains('\n');

    /// <summary>
    /// The framing without decoding or throwing: the payload (newline dropped) as a slice of the
    /// input, and on InvalidData the reason. The state machines use this on every byte they receive,
    /// so bad input costs no exception and a header or <c>na</c> is recognised without a string.
    /// </summary>
    internal static OperationStatus TryReadFrame(ReadOnlySpan<byte> input, int maxLength, out ReadOnlySpan<byte> payload, out int consumed, out string? error)
    {
        payload = default;
        consumed = 0;
        error = null;
        // Only as many prefix bytes as the limit needs are looked at (2 for every limit here): one
        // more already means "too long", so a reader never waits for, or reads, more of a bogus
        // prefix, and the verdict does not depend on how much of it has arrived.
        var longest = Varint.GetLength((ulong)maxLength);
        var status = Varint.TryRead(input.Length > longest ? input[..longest] : input, out var length, out var prefix);
        if (status == OperationStatus.NeedMoreData)
        {
            if (input.Length < longest)
                return status;
            error = $"multistream: the length prefix announces more than the limit of {maxLength} bytes";
            return OperationStatus.InvalidData;
        }
        if (status == OperationStatus.InvalidData)
        {
            error = "multistream: the length prefix is not a valid varint";
            return status;
        }
        if (length > (ulong)maxLength)
        {
            error = $"multistream: a message of {length} bytes is over the limit of {maxLength}";
            return OperationStatus.InvalidData;
        }
        if (length == 0)
        {
            error = "multistream: an empty message (no newline)";
            return OperationStatus.InvalidData;
        }
        if (input.Length - prefix < (int)length)
            return OperationStatus.NeedMoreData;
        var body = input.Slice(prefix, (int)length);
        if (body[^1] != (byte)'\n')
        {
            error = "multistream: the message does not end in a newline";
            return OperationStatus.InvalidData;
        }
        payload = body[..^1];
        consumed = prefix + (int)length;
        return OperationStatus.Done;
    }

    /// <summary>Whether <paramref name="utf8"/> is exactly <paramref name="text"/> in UTF-8, without allocating.</summary>
    internal static bool IsText(ReadOnlySpan<byte> utf8, string text)
    {
        // Each char takes 1 to 3 bytes (a surrogate pair takes 4 for 2 chars).
        if (utf8.Length < text.Length || utf8.Length > text.Length * 3)
            return false;
        Span<byte> encoded = stackalloc byte[MaxLength];
        return StrictUtf8.TryGetBytes(text, encoded, out var written) && utf8.SequenceEqual(encoded[..written]);
    }

    internal static bool TryDecode(ReadOnlySpan<byte> text, out string value)
    {
        try
        {
            value = StrictUtf8.GetString(text);
            return true;
        }
        catch (DecoderFallbackException)
        {
            value = "";
            return false;
        }
    }

    /// <summary>The remote's text for an error message: lossy, control characters hidden, cut short.</summary>
    internal static string Describe(ReadOnlySpan<byte> text)
    {
        const int Shown = 64;
        var decoded = System.Text.Encoding.UTF8.GetString(text.Length > Shown * 4 ? text[..(Shown * 4)] : text);
        var builder = new StringBuilder(Math.Min(decoded.Length, Shown) + 1);
        foreach (var c in decoded)
        {
            if (builder.Length == Shown)
                return builder.Append('…').ToString();
            builder.Append(char.IsControl(c) ? '?' : c);
        }
        return builder.ToString();
    }

    private static void WriteText(IBufferWriter<byte> output, string text, int byteCount)
    {
        var length = byteCount + 1;
        if (length > MaxLength)
            throw new ArgumentException($"multistream: a message of {length} bytes is over the limit of {MaxLength}", nameof(text));
        var prefix = Varint.GetLength((ulong)length);
        var span = output.GetSpan(prefix + length);
        Varint.Write((ulong)length, span);
        var written = StrictUtf8.GetBytes(text, span[prefix..]);
        span[prefix + written] = (byte)'\n';
        output.Advance(prefix + written + 1);
    }
}
