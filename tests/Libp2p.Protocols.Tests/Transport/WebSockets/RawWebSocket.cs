using System.Buffers.Binary;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Transport.WebSockets;

/// <summary>A WebSocket peer by hand over a raw stream: to send what no library would, and to see every frame.</summary>
internal static class RawWebSocket
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    public static byte[] Request(string key = Key) => System.Text.Encoding.ASCII.GetBytes(
        $"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");

    /// <summary>Reads an HTTP head, byte by byte so nothing after it is consumed.</summary>
    public static async Task<string> ReadHeadAsync(Stream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one).AsTask().WaitAsync(Patience) == 0)
                throw new EndOfStreamException("the head ended early");
            head.Add(one[0]);
        }
        return System.Text.Encoding.ASCII.GetString(head.ToArray());
    }

    /// <summary>A frame with <paramref name="first"/> as its first byte (FIN, reserved bits, opcode), masked unless told not to.</summary>
    public static byte[] Frame(byte first, byte[] payload, bool mask = true)
    {
        var frame = new byte[WebSocketFrameCodec.HeaderLength(payload.Length, mask) + payload.Length];
        var written = WebSocketFrameCodec.WriteHeader(frame, (first & 0x80) != 0, (WebSocketOpcode)(first & 0x0F), payload.Length, mask ? 0x12345678u : null);
        payload.CopyTo(frame, written);
        // The reserved bits as given, too.
        frame[0] = first;
        if (mask)
            WebSocketFrameCodec.Mask(frame.AsSpan(written), 0x12345678u, 0);
        return frame;
    }

    /// <summary>Reads one frame: its opcode, whether it was masked, and its payload unmasked.</summary>
    public static async Task<(WebSocketOpcode Opcode, bool Masked, byte[] Payload)> ReadFrameAsync(Stream stream)
    {
        var head = new byte[2];
        await stream.ReadExactlyAsync(head).AsTask().WaitAsync(Patience);
        var masked = (head[1] & 0x80) != 0;
        long length = head[1] & 0x7F;
        if (length >= 126)
        {
            var extended = new byte[length == 126 ? 2 : 8];
            await stream.ReadExactlyAsync(extended).AsTask().WaitAsync(Patience);
            length = extended.Length == 2 ? BinaryPrimitives.ReadUInt16BigEndian(extended) : (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
        }
        var key = new byte[masked ? 4 : 0];
        await stream.ReadExactlyAsync(key).AsTask().WaitAsync(Patience);
        var payload = new byte[length];
        await stream.ReadExactlyAsync(payload).AsTask().WaitAsync(Patience);
        if (masked)
            WebSocketFrameCodec.Mask(payload, BinaryPrimitives.ReadUInt32BigEndian(key), 0);
        return ((WebSocketOpcode)(head[0] & 0x0F), masked, payload);
    }

    /// <summary>Reads frames until a close (the Noise handshake's first frames may come before it): its status code.</summary>
    public static async Task<ushort> ReadCloseAsync(Stream stream)
    {
        while (true)
        {
            var (opcode, _, payload) = await ReadFrameAsync(stream);
            if (opcode == WebSocketOpcode.Close)
                return BinaryPrimitives.ReadUInt16BigEndian(payload);
        }
    }
}
