using System.Buffers.Binary;
using System.Security.Cryptography;
using Akka.IO;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>Writes whole frames as <see cref="ByteString"/>s: masked with a fresh key on the client side, the payload shared (not copied) on the server side.</summary>
internal static class WebSocketFrameWriter
{
    /// <summary>One final binary frame per at most <paramref name="maxFrame"/> bytes of <paramref name="payload"/>.</summary>
    public static ByteString Data(ByteString payload, int maxFrame, bool client)
    {
        var frames = ByteString.Empty;
        for (var offset = 0; offset < payload.Count; offset += maxFrame)
        {
            var part = payload.Slice(offset, Math.Min(maxFrame, payload.Count - offset));
            frames = frames.Concat(Frame(WebSocketOpcode.Binary, part, client));
        }
        return frames;
    }

    /// <summary>One final frame of <paramref name="opcode"/> carrying <paramref name="payload"/>.</summary>
    public static ByteString Frame(WebSocketOpcode opcode, ByteString payload, bool client)
    {
        var length = payload.Count;
        if (!client)
        {
            var header = new byte[WebSocketFrameCodec.HeaderLength(length, masked: false)];
            WebSocketFrameCodec.WriteHeader(header, fin: true, opcode, length, maskKey: null);
            return ByteString.FromBytes(header).Concat(payload);
        }
        // RFC 6455 §5.3: a fresh unpredictable key per frame, so a client cannot choose the bytes on the wire.
        Span<byte> keyBytes = stackalloc byte[4];
        RandomNumberGenerator.Fill(keyBytes);
        var key = BinaryPrimitives.ReadUInt32BigEndian(keyBytes);
        var headerLength = WebSocketFrameCodec.HeaderLength(length, masked: true);
        var frame = new byte[headerLength + length];
        WebSocketFrameCodec.WriteHeader(frame, fin: true, opcode, length, key);
        payload.CopyTo(frame, headerLength, length);
        WebSocketFrameCodec.Mask(frame.AsSpan(headerLength), key, 0);
        return ByteString.FromBytes(frame);
    }
}
