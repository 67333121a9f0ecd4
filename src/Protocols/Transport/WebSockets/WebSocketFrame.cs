using System.Buffers.Binary;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>The frame opcodes of RFC 6455 §5.2; the others are reserved and refused.</summary>
public enum WebSocketOpcode : byte
{
    /// <summary>A further fragment of the message under way.</summary>
    Continuation = 0x0,

    /// <summary>A UTF-8 text message: libp2p carries bytes only, so we refuse it (close 1003).</summary>
    Text = 0x1,

    /// <summary>A binary message: the only data libp2p sends.</summary>
    Binary = 0x2,

    /// <summary>The close handshake.</summary>
    Close = 0x8,

    /// <summary>A ping, answered with a pong carrying its payload.</summary>
    Ping = 0x9,

    /// <summary>A pong, the answer to a ping (or unsolicited, a heartbeat); ignored.</summary>
    Pong = 0xA,
}

/// <summary>The close status codes (RFC 6455 §7.4.1) this transport sends.</summary>
public enum WebSocketCloseCode : ushort
{
    /// <summary>A normal close.</summary>
    Normal = 1000,

    /// <summary>The frame broke the protocol: a reserved bit or opcode, a bad length, an unmasked client frame…</summary>
    ProtocolError = 1002,

    /// <summary>A data type we do not accept: a text message.</summary>
    UnsupportedData = 1003,

    /// <summary>A frame or message over our limit.</summary>
    MessageTooBig = 1009,
}

/// <summary>
/// A frame header (RFC 6455 §5.2): what precedes the payload. The payload itself is not part of
/// it: data frames are passed on as their bytes arrive, so a frame never has to be held whole.
/// </summary>
/// <param name="Fin">Whether this is the last frame of its message.</param>
/// <param name="Opcode">The frame's type.</param>
/// <param name="Masked">Whether the payload is masked (every client frame, no server frame).</param>
/// <param name="MaskKey">The 4-byte masking key, as read (big-endian); 0 when unmasked.</param>
/// <param name="PayloadLength">The payload's length in bytes.</param>
/// <param name="HeaderLength">How many bytes the header took: 2 to 14.</param>
public readonly record struct WebSocketFrameHeader(bool Fin, WebSocketOpcode Opcode, bool Masked, uint MaskKey, long PayloadLength, int HeaderLength)
{
    /// <summary>The longest header: 2 bytes, an 8-byte length and a 4-byte key.</summary>
    public const int MaxLength = 14;

    /// <summary>The longest payload of a control frame (ping, pong, close).</summary>
    public const int MaxControlPayload = 125;

    /// <summary>Whether the opcode is a control frame's (close, ping, pong).</summary>
    public bool IsControl => ((byte)Opcode & 0x8) != 0;
}

/// <summary>A WebSocket peer broke RFC 6455 or the HTTP upgrade; the message says how.</summary>
public sealed class WebSocketProtocolException : Exception
{
    /// <summary>Creates the exception, with the close code to send the peer.</summary>
    public WebSocketProtocolException(string message, WebSocketCloseCode closeCode = WebSocketCloseCode.ProtocolError, Exception? inner = null)
        : base(message, inner) => CloseCode = closeCode;

    /// <summary>The status code of the close frame sent to the peer, where the upgrade was done.</summary>
    public WebSocketCloseCode CloseCode { get; }
}

/// <summary>
/// The RFC 6455 frame codec: headers read from and written to spans, and masking. Pure; the
/// stage that uses it (<see cref="WebSocketStage"/>) keeps the state between frames.
/// </summary>
public static class WebSocketFrameCodec
{
    /// <summary>
    /// Reads the header at the start of <paramref name="input"/>. Returns false when more bytes are
    /// needed; throws <see cref="WebSocketProtocolException"/> when the header breaks the
    /// protocol, before any of a too-long payload has to be received.
    /// </summary>
    /// <param name="input">The bytes received, starting at a frame boundary.</param>
    /// <param name="maxPayload">The largest data payload accepted; a longer one fails with close code 1009.</param>
    /// <param name="header">The header read.</param>
    public static bool TryReadHeader(ReadOnlySpan<byte> input, long maxPayload, out WebSocketFrameHeader header)
    {
        header = default;
        if (input.Length < 2)
            return false;
        var b0 = input[0];
        var b1 = input[1];
        if ((b0 & 0x70) != 0)
            throw new WebSocketProtocolException($"websocket: a frame with reserved bits 0x{b0 & 0x70:x2} set (no extension was agreed)");
        var opcode = (WebSocketOpcode)(b0 & 0x0F);
        if (opcode is not (WebSocketOpcode.Continuation or WebSocketOpcode.Text or WebSocketOpcode.Binary
            or WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong))
            throw new WebSocketProtocolException($"websocket: a frame with the reserved opcode 0x{(byte)opcode:x}");
        var fin = (b0 & 0x80) != 0;
        var masked = (b1 & 0x80) != 0;
        var length7 = b1 & 0x7F;
        var lengthBytes = length7 switch { 126 => 2, 127 => 8, _ => 0 };
        var headerLength = 2 + lengthBytes + (masked ? 4 : 0);
        var isControl = ((byte)opcode & 0x8) != 0;
        if (isControl && (!fin || length7 > WebSocketFrameHeader.MaxControlPayload))
            throw new WebSocketProtocolException(!fin
                ? $"websocket: a fragmented {opcode} frame (control frames may not be fragmented)"
                : $"websocket: a {opcode} frame longer than {WebSocketFrameHeader.MaxControlPayload} bytes");
        if (input.Length < headerLength)
            return false;
        long length = length7;
        if (lengthBytes == 2)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(input[2..]);
            if (length < 126)
                throw new WebSocketProtocolException($"websocket: a length of {length} written in 16 bits (the shortest form is required)");
        }
        else if (lengthBytes == 8)
        {
            var wide = BinaryPrimitives.ReadUInt64BigEndian(input[2..]);
            if (wide > long.MaxValue)
                throw new WebSocketProtocolException("websocket: a 64-bit frame length with its most significant bit set");
            if (wide <= ushort.MaxValue)
                throw new WebSocketProtocolException($"websocket: a length of {wide} written in 64 bits (the shortest form is required)");
            length = (long)wide;
        }
        if (length > maxPayload)
            throw new WebSocketProtocolException($"websocket: a frame of {length} bytes, over the limit of {maxPayload}", WebSocketCloseCode.MessageTooBig);
        var key = masked ? BinaryPrimitives.ReadUInt32BigEndian(input[(2 + lengthBytes)..]) : 0u;
        header = new WebSocketFrameHeader(fin, opcode, masked, key, length, headerLength);
        return true;
    }

    /// <summary>The length of the header of a frame with <paramref name="payloadLength"/> bytes.</summary>
    public static int HeaderLength(long payloadLength, bool masked) =>
        (payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    /// <summary>
    /// Writes a frame header into <paramref name="output"/> (at least <see cref="HeaderLength"/>
    /// bytes), the length in its shortest form; <paramref name="maskKey"/> is written when given.
    /// </summary>
    /// <returns>The bytes written.</returns>
    public static int WriteHeader(Span<byte> output, bool fin, WebSocketOpcode opcode, long payloadLength, uint? maskKey)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        output[0] = (byte)((fin ? 0x80 : 0) | (byte)opcode);
        var maskBit = maskKey.HasValue ? 0x80 : 0;
        int written;
        if (payloadLength < 126)
        {
            output[1] = (byte)(maskBit | (int)payloadLength);
            written = 2;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            output[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(output[2..], (ushort)payloadLength);
            written = 4;
        }
        else
        {
            output[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(output[2..], (ulong)payloadLength);
            written = 10;
        }
        if (maskKey is { } key)
        {
            BinaryPrimitives.WriteUInt32BigEndian(output[written..], key);
            written += 4;
        }
        return written;
    }

    /// <summary>
    /// XORs <paramref name="payload"/> with the masking key in place (masking and unmasking are the
    /// same). <paramref name="offset"/> is the position of <paramref name="payload"/>'s first byte
    /// within the frame's payload, so a payload can be unmasked in the pieces it arrives in.
    /// </summary>
    public static void Mask(Span<byte> payload, uint maskKey, long offset)
    {
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(key, maskKey);
        var shift = (int)(offset & 3);
        // Rotated so that a whole 4-byte word lines up with the key from payload[0] on.
        Span<byte> rotated = [key[shift], key[(shift + 1) & 3], key[(shift + 2) & 3], key[(shift + 3) & 3]];
        var word = BitConverter.ToUInt32(rotated);
        var i = 0;
        if (payload.Length >= 8)
        {
            var wide = (ulong)word | (ulong)word << 32;
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(payload[..(payload.Length & ~7)]);
            for (var w = 0; w < words.Length; w++)
                words[w] ^= wide;
            i = payload.Length & ~7;
        }
        for (; i < payload.Length; i++)
            payload[i] ^= rotated[i & 3];
    }

    /// <summary>The payload of a close frame: the status code, and a reason of at most 123 UTF-8 bytes.</summary>
    public static byte[] ClosePayload(WebSocketCloseCode code, string reason)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(reason);
        // A reason cut mid-character would make the peer fail the close on invalid UTF-8; cut at a character start.
        var length = Math.Min(text.Length, WebSocketFrameHeader.MaxControlPayload - 2);
        while (length > 0 && length < text.Length && (text[length] & 0xC0) == 0x80)
            length--;
        var payload = new byte[2 + length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        text.AsSpan(0, length).CopyTo(payload.AsSpan(2));
        return payload;
    }

    /// <summary>Reads a close frame's payload: empty (no code), or a valid code and a UTF-8 reason.</summary>
    public static (ushort? Code, string Reason) ReadClosePayload(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == 0)
            return (null, "");
        if (payload.Length == 1)
            throw new WebSocketProtocolException("websocket: a close frame with a 1-byte payload");
        var code = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (code < 1000 || code is 1004 or 1005 or 1006 or 1015 || code is > 1014 and < 3000 || code >= 5000)
            throw new WebSocketProtocolException($"websocket: a close frame with the invalid status code {code}");
        try
        {
            return (code, new System.Text.UTF8Encoding(false, true).GetString(payload[2..]));
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new WebSocketProtocolException("websocket: a close frame whose reason is not UTF-8", WebSocketCloseCode.ProtocolError, e);
        }
    }
}
