using Akka.IO;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>
/// Reads RFC 6455 frames from the bytes a connection delivers, across reads: data payloads come
/// out in the pieces they arrive in (unmasked on the server side), control frames whole. Checks
/// the masking side, message fragmentation, text frames and the size limit; a breach throws
/// <see cref="WebSocketProtocolException"/>. It holds no bytes of its own: what it has not read
/// stays in the caller's buffer (at most one header and one control payload).
/// </summary>
/// <param name="client">Whether this is the client side (frames from the server are unmasked).</param>
/// <param name="maxMessageSize">The largest frame, and message over its fragments, accepted.</param>
internal sealed class WebSocketFrameReader(bool client, int maxMessageSize)
{
    // The data frame whose payload is arriving.
    private long _payloadLeft;
    private long _payloadOffset;
    private bool _payloadMasked;
    private uint _maskKey;
    private bool _inMessage;
    private long _messageBytes;

    /// <summary>
    /// Takes the next item from <paramref name="input"/>: a piece of binary payload
    /// (<see cref="WebSocketOpcode.Binary"/>, continuations included) or a whole control frame's
    /// payload. False when <paramref name="input"/> holds no whole item yet.
    /// </summary>
    public bool TryRead(ref ByteString input, out WebSocketOpcode opcode, out ByteString payload)
    {
        Span<byte> head = stackalloc byte[WebSocketFrameHeader.MaxLength];
        while (input.Count > 0)
        {
            if (_payloadLeft > 0)
            {
                opcode = WebSocketOpcode.Binary;
                payload = TakePayload(ref input);
                return true;
            }
            var available = Math.Min(head.Length, input.Count);
            input.Slice(0, available).CopyTo(ref head, 0, available);
            if (!WebSocketFrameCodec.TryReadHeader(head[..available], maxMessageSize, out var header))
                break;
            if (header.Masked == client)
                throw new WebSocketProtocolException(client
                    ? "websocket: the server sent a masked frame (RFC 6455 §5.1 forbids it)"
                    : "websocket: the client sent an unmasked frame (RFC 6455 §5.1 requires a mask)");
            if (header.IsControl)
            {
                var total = header.HeaderLength + (int)header.PayloadLength;
                if (input.Count < total)
                    break;
                var bytes = new byte[header.PayloadLength];
                input.Slice(header.HeaderLength, bytes.Length).CopyTo(bytes, 0, bytes.Length);
                if (header.Masked)
                    WebSocketFrameCodec.Mask(bytes, header.MaskKey, 0);
                input = input.Slice(total);
                opcode = header.Opcode;
                payload = ByteString.FromBytes(bytes);
                return true;
            }
            StartData(header);
            input = input.Slice(header.HeaderLength);
        }
        opcode = default;
        payload = ByteString.Empty;
        return false;
    }

    private void StartData(WebSocketFrameHeader header)
    {
        switch (header.Opcode)
        {
            case WebSocketOpcode.Text:
                throw new WebSocketProtocolException("websocket: a text frame (libp2p sends binary frames only)", WebSocketCloseCode.UnsupportedData);
            case WebSocketOpcode.Binary when _inMessage:
                throw new WebSocketProtocolException("websocket: a new message began before the fragmented one ended");
            case WebSocketOpcode.Continuation when !_inMessage:
                throw new WebSocketProtocolException("websocket: a continuation frame with no message under way");
            case WebSocketOpcode.Binary:
                _messageBytes = 0;
                break;
        }
        _messageBytes += header.PayloadLength;
        if (_messageBytes > maxMessageSize)
            throw new WebSocketProtocolException($"websocket: a message of more than {maxMessageSize} bytes", WebSocketCloseCode.MessageTooBig);
        _inMessage = !header.Fin;
        _payloadLeft = header.PayloadLength;
        _payloadOffset = 0;
        _payloadMasked = header.Masked;
        _maskKey = header.MaskKey;
    }

    private ByteString TakePayload(ref ByteString input)
    {
        var n = (int)Math.Min(_payloadLeft, input.Count);
        var chunk = input.Slice(0, n);
        input = input.Slice(n);
        // Always a copy, masked or not: the received bytes may be shared, and an unmasked slice
        // would hand the connection stage a piece of the socket's transport array, which it gives
        // back to the pool while this reader still holds the rest of that array.
        var copy = new byte[n];
        chunk.CopyTo(copy, 0, n);
        if (_payloadMasked)
            WebSocketFrameCodec.Mask(copy, _maskKey, _payloadOffset);
        chunk = ByteString.FromBytes(copy);
        _payloadOffset += n;
        _payloadLeft -= n;
        return chunk;
    }
}
