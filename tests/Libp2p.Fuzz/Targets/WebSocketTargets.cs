using Akka.IO;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>WebSocket frames: headers read, re-written identically (shortest form), payloads unmasked and close payloads read.</summary>
    public static FuzzTarget WebSocketFrames { get; } = new("websocket-frames", "WebSocketFrameCodec.TryReadHeader, WriteHeader, Mask, ReadClosePayload over a stream of frames", input =>
    {
        var offset = 0;
        Span<byte> written = stackalloc byte[WebSocketFrameHeader.MaxLength];
        while (offset < input.Length)
        {
            WebSocketFrameHeader header;
            try
            {
                if (!WebSocketFrameCodec.TryReadHeader(input.AsSpan(offset), maxPayload: 1 << 20, out header))
                    return;
            }
            catch (WebSocketProtocolException)
            {
                return;
            }
            FuzzCheckException.Check(header.HeaderLength == WebSocketFrameCodec.HeaderLength(header.PayloadLength, header.Masked), "a header's length disagrees with HeaderLength");
            var length = WebSocketFrameCodec.WriteHeader(written, header.Fin, header.Opcode, header.PayloadLength, header.Masked ? header.MaskKey : null);
            FuzzCheckException.Check(written[..length].SequenceEqual(input.AsSpan(offset, header.HeaderLength)), "a header read does not re-write to its bytes");
            offset += header.HeaderLength;
            var available = (int)Math.Min(header.PayloadLength, input.Length - offset);
            var payload = input.AsSpan(offset, available).ToArray();
            if (header.Masked)
            {
                var copy = (byte[])payload.Clone();
                WebSocketFrameCodec.Mask(copy, header.MaskKey, 0);
                WebSocketFrameCodec.Mask(copy, header.MaskKey, 0);
                FuzzCheckException.Check(copy.AsSpan().SequenceEqual(payload), "masking twice does not restore the payload");
                WebSocketFrameCodec.Mask(payload, header.MaskKey, 0);
            }
            if (header.Opcode == WebSocketOpcode.Close && available == header.PayloadLength)
            {
                try
                {
                    WebSocketFrameCodec.ReadClosePayload(payload);
                }
                catch (WebSocketProtocolException)
                {
                }
            }
            offset += available;
        }
    });

    /// <summary>
    /// The stage's frame reader, as server and as client: the input whole and in pieces must give
    /// the same data, the same control frames and the same error.
    /// </summary>
    public static FuzzTarget WebSocketReader { get; } = new("websocket-reader", "WebSocketFrameReader.TryRead, server and client side, whole and in pieces (must agree)", input =>
    {
        if (input.Length == 0)
            return;
        foreach (var client in new[] { false, true })
        {
            var whole = ReadAll(client, [new ArraySegment<byte>(input, 1, input.Length - 1)]);
            var pieces = ReadAll(client, Pieces(input));
            FuzzCheckException.Check(whole == pieces, $"whole and in pieces disagree: {whole} / {pieces}");
        }
    });

    private static string ReadAll(bool client, IEnumerable<ArraySegment<byte>> pieces)
    {
        var reader = new WebSocketFrameReader(client, maxMessageSize: 1 << 16);
        var buffered = ByteString.Empty;
        var data = new List<byte>();
        var controls = new List<string>();
        try
        {
            foreach (var piece in pieces)
            {
                buffered = buffered.Concat(ByteString.CopyFrom(piece));
                while (reader.TryRead(ref buffered, out var opcode, out var payload))
                {
                    if (opcode == WebSocketOpcode.Binary)
                        data.AddRange(payload.ToArray());
                    else
                        controls.Add($"{opcode}:{Convert.ToHexString(payload.ToArray())}");
                }
                FuzzCheckException.Check(buffered.Count <= WebSocketFrameHeader.MaxLength + WebSocketFrameHeader.MaxControlPayload, "the reader left more than one header and control payload unread");
            }
            return $"{Convert.ToHexString(data.ToArray())} {string.Join(',', controls)}";
        }
        catch (WebSocketProtocolException e)
        {
            return $"{Convert.ToHexString(data.ToArray())} {string.Join(',', controls)} {e.Message}";
        }
    }

    /// <summary>The WebSocket upgrade's HTTP heads: delimited, then read as a request and as a response.</summary>
    public static FuzzTarget WebSocketUpgrade { get; } = new("websocket-upgrade", "WebSocketHandshake.HeadLength, ReadRequest, ReadResponse", input =>
    {
        int length;
        try
        {
            length = WebSocketHandshake.HeadLength(input);
        }
        catch (WebSocketProtocolException)
        {
            return;
        }
        if (length < 0)
            return;
        FuzzCheckException.Check(length <= input.Length && length <= WebSocketHandshake.MaxHeadLength, "a head longer than its input or the limit");
        var head = input.AsSpan(0, length);
        try
        {
            var key = WebSocketHandshake.ReadRequest(head);
            FuzzCheckException.Check(Convert.FromBase64String(key).Length == 16, "a request key accepted that is not 16 bytes");
        }
        catch (WebSocketProtocolException)
        {
        }
        try
        {
            WebSocketHandshake.ReadResponse(head, "dGhlIHNhbXBsZSBub25jZQ==");
        }
        catch (WebSocketProtocolException)
        {
        }
    });
}
