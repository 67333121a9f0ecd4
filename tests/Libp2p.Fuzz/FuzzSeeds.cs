using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Mplex;
using Libp2p.Protocols.Muxing.Yamux;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;
using Libp2p.Protocols.Tests.Crypto;
using Libp2p.Protocols.Tests.Multiformats;
using Libp2p.Protocols.Tests.Tls;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Fuzz;

/// <summary>
/// The valid inputs each corpus starts from: spec vectors the tests already hold (linked from
/// Libp2p.Protocols.Tests) and messages our own encoders write. Written once by <c>seed</c>.
/// </summary>
internal static class FuzzSeeds
{
    public static IEnumerable<(string Target, IReadOnlyList<byte[]> Seeds)> All()
    {
        var addresses = MultiaddrVectors.Valid.Where((_, i) => i % 6 == 0).Select(Multiaddr.Parse).ToArray();
        var keys = new[] { KeyVectors.Ed25519Private, KeyVectors.Secp256k1Private, KeyVectors.EcdsaPrivate, KeyVectors.RsaPrivate }
            .Select(hex => PrivateKey.FromProtobuf(Convert.FromHexString(hex))).ToArray();
        var record = new PeerRecord(PeerId.FromPublicKey(keys[0].PublicKey), 7, addresses[..3]);

        yield return ("varint", [[0], [0x7f], [0x80, 0x01], [0xff, 0xff, 0x03], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]]);
        yield return ("multiaddr-text", addresses.Select(a => Encoding.UTF8.GetBytes(a.ToString())).ToArray());
        yield return ("multiaddr-bytes", addresses.Select(a => a.ToBytes()).ToArray());
        yield return ("multistream", [Multistream(w => { MultistreamMessage.Write(w, "/multistream/1.0.0"); MultistreamMessage.Write(w, "/yamux/1.0.0"); }),
            Multistream(w => { MultistreamMessage.Write(w, "/multistream/1.0.0"); MultistreamMessage.Write(w, "ls"); MultistreamMessage.Write(w, "/noise"); }),
            Multistream(w => MultistreamMessage.WriteList(w, ["/noise", "/yamux/1.0.0"]))]);
        yield return ("noise-frames", [[0, .. "hello, noise"u8, 0, 17, .. new byte[17]], [3, .. new byte[40]]]);
        yield return ("noise-handshake", [[0, 0, 32, .. new byte[32]], [1, .. NoisePayload(keys[0]).ToProtobuf()], [1, .. NoisePayload(keys[1]).ToProtobuf()]]);
        yield return ("noise-payload", keys.Select(k => NoisePayload(k).ToProtobuf()).ToArray());
        yield return ("yamux", [Muxed(new YamuxSession(isClient: true)), [7, .. Muxed(new YamuxSession(isClient: true))]]);
        yield return ("mplex", [Muxed(new MplexSession()), [5, .. Muxed(new MplexSession())]]);
        var identify = new IdentifyMessage
        {
            ProtocolVersion = "ipfs/0.1.0",
            AgentVersion = "fuzz",
            PublicKey = keys[0].PublicKey,
            ListenAddrs = addresses[..2],
            ObservedAddr = addresses[0],
            Protocols = ["/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"],
            SignedPeerRecord = record.Seal(keys[0]),
        };
        yield return ("identify", [identify.ToBytes(), identify.ToDelimitedBytes()]);
        yield return ("signed-envelope", keys.Select(k => new PeerRecord(PeerId.FromPublicKey(k.PublicKey), 1, addresses[..1]).Seal(k)).ToArray());
        yield return ("peer-record", [record.ToBytes(), new PeerRecord(record.Peer, 0, []).ToBytes()]);
        yield return ("public-key", new[] { KeyVectors.Ed25519Public, KeyVectors.Secp256k1Public, KeyVectors.EcdsaPublic, KeyVectors.RsaPublic }.Select(Convert.FromHexString).ToArray());
        yield return ("private-key", new[] { KeyVectors.Ed25519Private, KeyVectors.Secp256k1Private, KeyVectors.EcdsaPrivate, KeyVectors.RsaPrivate }.Select(Convert.FromHexString).ToArray());
        yield return ("websocket-frames", [WebSocketFrames(mask: 0x37FA213D), WebSocketFrames(mask: null)]);
        yield return ("websocket-reader", [[0, .. WebSocketFrames(mask: 0x37FA213D)], [0, .. WebSocketFrames(mask: null)], [3, .. WebSocketFrames(mask: 0x01020304)]]);
        yield return ("websocket-upgrade", [
            WebSocketHandshake.Request("127.0.0.1:4001", "/", "dGhlIHNhbXBsZSBub25jZQ=="),
            WebSocketHandshake.SwitchingProtocols("dGhlIHNhbXBsZSBub25jZQ=="),
            WebSocketHandshake.BadRequest("websocket: the upgrade request has no Sec-WebSocket-Key")]);
        yield return ("tls-certificate", new[] { SpecVectors.Ed25519, SpecVectors.Ecdsa, SpecVectors.Secp256k1, SpecVectors.Invalid }.Select(Convert.FromHexString).ToArray());
        yield return ("tls-client-hello", [ClientHello(["/yamux/1.0.0", "/mplex/6.7.0", "libp2p"]), ClientHello([])]);
    }

    // A binary message in two fragments, a ping, a pong and a close, as a client (masked) or server writes them.
    private static byte[] WebSocketFrames(uint? mask)
    {
        var output = new List<byte>();
        void Frame(bool fin, WebSocketOpcode opcode, byte[] payload)
        {
            var frame = new byte[WebSocketFrameCodec.HeaderLength(payload.Length, mask.HasValue) + payload.Length];
            var written = WebSocketFrameCodec.WriteHeader(frame, fin, opcode, payload.Length, mask);
            payload.CopyTo(frame, written);
            if (mask is { } key)
                WebSocketFrameCodec.Mask(frame.AsSpan(written), key, 0);
            output.AddRange(frame);
        }
        Frame(false, WebSocketOpcode.Binary, "hello, "u8.ToArray());
        Frame(true, WebSocketOpcode.Continuation, new byte[300]);
        Frame(true, WebSocketOpcode.Ping, "ping"u8.ToArray());
        Frame(true, WebSocketOpcode.Pong, []);
        Frame(true, WebSocketOpcode.Close, WebSocketFrameCodec.ClosePayload(WebSocketCloseCode.Normal, "bye"));
        return [.. output];
    }

    private static byte[] Multistream(Action<ArrayBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write([(byte)0]);
        write(output);
        return output.WrittenSpan.ToArray();
    }

    // What the noise-handshake target's remote must send: the identity, signed over its fixed static key.
    private static NoiseHandshakePayload NoisePayload(PrivateKey identity)
    {
        Span<byte> staticPublic = stackalloc byte[XxHandshakeState.KeyLength];
        using (var state = new XxHandshakeState(initiator: false, FuzzTargets.NoiseRemoteStatic))
            state.LocalStaticPublicKey.CopyTo(staticPublic);
        byte[] signed = [.. "noise-libp2p-static-key:"u8, .. staticPublic];
        return new NoiseHandshakePayload(identity.PublicKey.ToProtobuf(), identity.Sign(signed), ["/yamux/1.0.0"]);
    }

    // A session's opening, data, half-close and ping as the remote writes them, whole (piece size 0).
    private static byte[] Muxed(IMuxerSession session)
    {
        using var _ = session;
        var stream = session.OpenStream();
        session.Send(stream, "hello, muxer"u8);
        session.CloseWrite(stream);
        session.Ping();
        var output = new ArrayBufferWriter<byte>();
        output.Write([(byte)0]);
        session.DrainOutput(output);
        return output.WrittenSpan.ToArray();
    }
    /// <summary>A TLS record holding a ClientHello whose only extension is ALPN with <paramref name="protocols"/> (none: no extensions).</summary>
    private static byte[] ClientHello(IReadOnlyList<string> protocols)
    {
        var body = new List<byte> { 3, 3 };
        body.AddRange(new byte[32]);                 // random
        body.Add(0);                                 // no session ID
        body.AddRange(new byte[] { 0, 2, 0x13, 0x01 }); // TLS_AES_128_GCM_SHA256
        body.AddRange(new byte[] { 1, 0 });           // null compression
        if (protocols.Count > 0)
        {
            var list = protocols.SelectMany(p => new[] { (byte)p.Length }.Concat(Encoding.ASCII.GetBytes(p))).ToArray();
            var alpn = new List<byte> { 0, 16, (byte)((list.Length + 2) >> 8), (byte)(list.Length + 2), (byte)(list.Length >> 8), (byte)list.Length };
            alpn.AddRange(list);
            body.AddRange(new[] { (byte)(alpn.Count >> 8), (byte)alpn.Count });
            body.AddRange(alpn);
        }
        var handshake = new List<byte> { 1, 0, (byte)(body.Count >> 8), (byte)body.Count };
        handshake.AddRange(body);
        return [22, 3, 1, (byte)(handshake.Count >> 8), (byte)handshake.Count, .. handshake];
    }
}
