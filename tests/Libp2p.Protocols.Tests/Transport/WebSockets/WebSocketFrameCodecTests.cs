using System.Net.WebSockets;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Transport.WebSockets;

public sealed class WebSocketFrameCodecTests
{
    private const long NoLimit = long.MaxValue;

    private static byte[] Frame(bool fin, WebSocketOpcode opcode, byte[] payload, uint? mask)
    {
        var frame = new byte[WebSocketFrameCodec.HeaderLength(payload.Length, mask.HasValue) + payload.Length];
        var written = WebSocketFrameCodec.WriteHeader(frame, fin, opcode, payload.Length, mask);
        payload.CopyTo(frame, written);
        if (mask is { } key)
            WebSocketFrameCodec.Mask(frame.AsSpan(written), key, 0);
        return frame;
    }

    [Property(MaxTest = 2000)]
    public bool A_written_header_must_read_back_the_same_from_its_shortest_form(long raw, byte kind, bool fin, uint? mask, bool binary)
    {
        // Around each boundary of the three length forms, and anywhere.
        var magnitude = raw == long.MinValue ? 0 : Math.Abs(raw);
        var length = (kind % 3) switch { 0 => magnitude % 200, 1 => 65_000 + magnitude % 1_000, _ => magnitude };
        var opcode = binary ? WebSocketOpcode.Binary : WebSocketOpcode.Continuation;
        Span<byte> header = stackalloc byte[WebSocketFrameHeader.MaxLength];
        var written = WebSocketFrameCodec.WriteHeader(header, fin, opcode, length, mask);
        var read = WebSocketFrameCodec.TryReadHeader(header[..written], NoLimit, out var parsed);
        // One byte short is never enough.
        var shortRead = WebSocketFrameCodec.TryReadHeader(header[..(written - 1)], NoLimit, out _);
        return read && !shortRead && written == WebSocketFrameCodec.HeaderLength(length, mask.HasValue)
            && parsed == new WebSocketFrameHeader(fin, opcode, mask.HasValue, mask ?? 0, length, written);
    }

    [Property(MaxTest = 1000)]
    public Property Masking_in_pieces_must_equal_masking_whole_and_twice_must_restore_the_payload() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<uint>(), ArbMap.Default.ArbFor<byte>(), (payload, key, cutByte) =>
        {
            var whole = (byte[])payload.Clone();
            WebSocketFrameCodec.Mask(whole, key, 0);
            var pieces = (byte[])payload.Clone();
            var cut = payload.Length == 0 ? 0 : cutByte % (payload.Length + 1);
            WebSocketFrameCodec.Mask(pieces.AsSpan(0, cut), key, 0);
            WebSocketFrameCodec.Mask(pieces.AsSpan(cut), key, cut);
            // RFC 6455 §5.3: octet i is XORed with key octet i mod 4.
            var keyBytes = new[] { (byte)(key >> 24), (byte)(key >> 16), (byte)(key >> 8), (byte)key };
            var byDefinition = payload.Select((b, i) => (byte)(b ^ keyBytes[i % 4])).ToArray();
            WebSocketFrameCodec.Mask(pieces, key, 0);
            return whole.SequenceEqual(byDefinition) && pieces.SequenceEqual(payload);
        });

    [Property(MaxTest = 200)]
    public async Task<bool> A_frame_we_write_must_be_received_by_dotnets_WebSocket(byte[] payload, bool masked, uint key)
    {
        // .NET's server side expects masked frames, its client side unmasked ones.
        using var wire = new MemoryStream(Frame(true, WebSocketOpcode.Binary, payload, masked ? key : null));
        using var socket = WebSocket.CreateFromStream(wire, isServer: masked, subProtocol: null, Timeout.InfiniteTimeSpan);
        var buffer = new byte[payload.Length + 1];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
        return result.MessageType == WebSocketMessageType.Binary && result.EndOfMessage && buffer.AsSpan(0, result.Count).SequenceEqual(payload);
    }

    [Property(MaxTest = 200)]
    public async Task<bool> A_frame_dotnets_WebSocket_writes_must_read_with_our_codec(byte[] payload, bool fromClient)
    {
        using var wire = new MemoryStream();
        using (var socket = WebSocket.CreateFromStream(wire, isServer: !fromClient, subProtocol: null, Timeout.InfiniteTimeSpan))
            await socket.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        var bytes = wire.ToArray();
        if (!WebSocketFrameCodec.TryReadHeader(bytes, NoLimit, out var header))
            return false;
        var body = bytes.AsSpan(header.HeaderLength, (int)header.PayloadLength).ToArray();
        if (header.Masked)
            WebSocketFrameCodec.Mask(body, header.MaskKey, 0);
        return header.Fin && header.Opcode == WebSocketOpcode.Binary && header.Masked == fromClient
            && header.HeaderLength + header.PayloadLength == bytes.Length && body.SequenceEqual(payload);
    }

    [Theory]
    [InlineData(new byte[] { 0xC2, 0x00 }, "websocket: a frame with reserved bits 0x40 set (no extension was agreed)")]
    [InlineData(new byte[] { 0x83, 0x00 }, "websocket: a frame with the reserved opcode 0x3")]
    [InlineData(new byte[] { 0x8B, 0x00 }, "websocket: a frame with the reserved opcode 0xb")]
    [InlineData(new byte[] { 0x09, 0x00 }, "websocket: a fragmented Ping frame (control frames may not be fragmented)")]
    [InlineData(new byte[] { 0x88, 0x7E, 0x00, 0x7E }, "websocket: a Close frame longer than 125 bytes")]
    [InlineData(new byte[] { 0x82, 0x7E, 0x00, 0x7D }, "websocket: a length of 125 written in 16 bits (the shortest form is required)")]
    [InlineData(new byte[] { 0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF }, "websocket: a length of 65535 written in 64 bits (the shortest form is required)")]
    [InlineData(new byte[] { 0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0 }, "websocket: a 64-bit frame length with its most significant bit set")]
    public void A_header_that_breaks_RFC_6455_must_be_refused_with_the_reason(byte[] header, string message)
    {
        var error = Assert.Throws<WebSocketProtocolException>(() => WebSocketFrameCodec.TryReadHeader(header, NoLimit, out _));
        Assert.Equal(message, error.Message);
        Assert.Equal(WebSocketCloseCode.ProtocolError, error.CloseCode);
    }

    [Fact]
    public void A_frame_over_the_limit_must_be_refused_from_its_header_alone_with_1009()
    {
        // A 1 GiB frame announced in 10 bytes: refused before any payload is awaited.
        var header = new byte[WebSocketFrameHeader.MaxLength];
        var written = WebSocketFrameCodec.WriteHeader(header, true, WebSocketOpcode.Binary, 1L << 30, null);
        var error = Assert.Throws<WebSocketProtocolException>(() => WebSocketFrameCodec.TryReadHeader(header.AsSpan(0, written), 4 * 1024 * 1024, out _));
        Assert.Equal("websocket: a frame of 1073741824 bytes, over the limit of 4194304", error.Message);
        Assert.Equal(WebSocketCloseCode.MessageTooBig, error.CloseCode);
    }

    [Theory]
    [InlineData(new byte[] { }, null, "")]
    [InlineData(new byte[] { 0x03, 0xE8 }, (ushort)1000, "")]
    [InlineData(new byte[] { 0x0B, 0xB8, 0x68, 0x69 }, (ushort)3000, "hi")]
    public void A_valid_close_payload_must_read_as_code_and_reason(byte[] payload, ushort? code, string reason) =>
        Assert.Equal((code, reason), WebSocketFrameCodec.ReadClosePayload(payload));

    [Theory]
    [InlineData(new byte[] { 0x03 }, "websocket: a close frame with a 1-byte payload")]
    [InlineData(new byte[] { 0x03, 0xED }, "websocket: a close frame with the invalid status code 1005")]
    [InlineData(new byte[] { 0x03, 0xE7 }, "websocket: a close frame with the invalid status code 999")]
    [InlineData(new byte[] { 0x03, 0xE8, 0xC3 }, "websocket: a close frame whose reason is not UTF-8")]
    public void An_invalid_close_payload_must_be_refused_with_the_reason(byte[] payload, string message) =>
        Assert.Equal(message, Assert.Throws<WebSocketProtocolException>(() => WebSocketFrameCodec.ReadClosePayload(payload)).Message);

    [Fact]
    public void A_close_reason_must_be_cut_to_fit_a_control_frame_at_a_character_boundary()
    {
        var payload = WebSocketFrameCodec.ClosePayload(WebSocketCloseCode.ProtocolError, new string('é', 100));
        Assert.Equal(2 + 122, payload.Length);
        Assert.Equal(((ushort?)1002, new string('é', 61)), WebSocketFrameCodec.ReadClosePayload(payload));
    }
}
