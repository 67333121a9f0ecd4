using System.Buffers;
using System.Buffers.Binary;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Noise;

namespace Libp2p.Fuzz;

public static partial class FuzzTargets
{
    // Fixed keys, so a seed's signature stays valid from run to run.
    internal static readonly byte[] NoiseRemoteStatic = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    internal static readonly byte[] NoiseRemoteEphemeral = Enumerable.Range(33, 32).Select(i => (byte)i).ToArray();
    internal static readonly byte[] NoiseLocalIdentitySeed = Enumerable.Range(65, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] NoiseTransportKey = Enumerable.Range(97, 32).Select(i => (byte)i).ToArray();

    /// <summary>Noise transport frames: the 2-byte length framing and AEAD failures, in any split.</summary>
    public static FuzzTarget NoiseFrames { get; } = new("noise-frames", "NoiseTransport.Decrypt fed in pieces: one authentic frame made from the first 16 bytes after the piece size, then the rest as raw frames", input =>
    {
        if (input.Length == 0)
            return;
        using var sender = Transport();
        using var receiver = Transport();
        var stream = new ArrayBufferWriter<byte>();
        stream.Write(input.AsSpan(0, 1));
        var authentic = Math.Min(16, input.Length - 1);
        sender.Encrypt(input.AsSpan(1, authentic), stream);
        stream.Write(input.AsSpan(1 + authentic));
        var plaintext = new ArrayBufferWriter<byte>();
        try
        {
            foreach (var piece in Pieces(stream.WrittenSpan.ToArray()))
                receiver.Decrypt(piece, plaintext);
        }
        catch (NoiseException)
        {
            return;
        }
        FuzzCheckException.Check(plaintext.WrittenSpan.StartsWith(input.AsSpan(1, authentic)), "the authentic frame decrypted to other bytes");

        static NoiseTransport Transport()
        {
            var send = new CipherState();
            send.InitializeKey(NoiseTransportKey);
            var receive = new CipherState();
            receive.InitializeKey(NoiseTransportKey);
            return new NoiseTransport(send, receive);
        }
    });

    /// <summary>The libp2p Noise handshake: raw messages to a responder, or a payload a real remote encrypts.</summary>
    public static FuzzTarget NoiseHandshake { get; } = new("noise-handshake", "NoiseHandshake.Receive: an even first byte feeds the rest in pieces to a responder; an odd one has a remote XX responder encrypt the rest as its message-2 payload (identity key, signature, muxers) for an initiator to verify", input =>
    {
        if (input.Length == 0)
            return;
        using var identity = Ed25519PrivateKey.FromSeed(NoiseLocalIdentitySeed);
        var output = new ArrayBufferWriter<byte>();
        if (input[0] % 2 == 0)
        {
            using var responder = new Protocols.Noise.NoiseHandshake(initiator: false, identity);
            responder.Start(output);
            foreach (var piece in Pieces(input))
            {
                var taken = responder.Receive(piece, output);
                FuzzCheckException.Check(taken >= 0 && taken <= piece.Count, $"Receive took {taken} of {piece.Count} bytes");
            }
            return;
        }
        // Never throws for bad input: the handshake fails with Error instead.
        using var initiator = new Protocols.Noise.NoiseHandshake(initiator: true, identity);
        initiator.Start(output);
        using var remote = new XxHandshakeState(initiator: false, NoiseRemoteStatic, ephemeralPrivateKey: NoiseRemoteEphemeral);
        remote.ReadMessage(output.WrittenSpan[2..], new byte[output.WrittenCount]);
        var payload = input.AsSpan(1, Math.Min(input.Length - 1, 60000));
        var frame = new byte[2 + XxHandshakeState.MaxMessageLength(payload.Length)];
        var length = remote.WriteMessage(payload, frame.AsSpan(2));
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)length);
        initiator.Receive(frame.AsSpan(0, 2 + length), output);
        FuzzCheckException.Check(initiator.IsFinished, "a whole message 2 left the handshake unfinished");
        initiator.Session?.Transport.Dispose();
    });

    /// <summary>The handshake payload protobuf on its own: what parses re-encodes to the same fields.</summary>
    public static FuzzTarget NoisePayload { get; } = new("noise-payload", "NoiseHandshakePayload.Parse; a parsed payload round-trips through ToProtobuf", input =>
    {
        NoiseHandshakePayload payload;
        try
        {
            payload = NoiseHandshakePayload.Parse(input);
        }
        catch (FormatException)
        {
            return;
        }
        var again = NoiseHandshakePayload.Parse(payload.ToProtobuf());
        FuzzCheckException.Check(
            again.IdentityKey.AsSpan().SequenceEqual(payload.IdentityKey) && again.IdentitySignature.AsSpan().SequenceEqual(payload.IdentitySignature) && again.StreamMuxers.SequenceEqual(payload.StreamMuxers),
            "a parsed payload re-encodes to other fields");
    });
}
