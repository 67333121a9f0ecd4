using System.Buffers;
using System.Text.Json;
using FsCheck.Xunit;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Tests.Noise;

public sealed class NoiseTests
{
    private sealed record Message(string Payload, string Ciphertext);
    private sealed record Vector(string Init_prologue, string Init_static, string Init_ephemeral, string Resp_static, string Resp_ephemeral, string Handshake_hash, Message[] Messages);

    private static Vector[] Cacophony() =>
        JsonSerializer.Deserialize<Dictionary<string, Vector[]>>(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Noise", "cacophony-xx.json")),
            new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!["vectors"];

    [Fact]
    public void XX_must_reproduce_the_cacophony_vectors()
    {
        foreach (var v in Cacophony())
        {
            var prologue = Convert.FromHexString(v.Init_prologue);
            using var initiator = new XxHandshakeState(true, Convert.FromHexString(v.Init_static), prologue, Convert.FromHexString(v.Init_ephemeral));
            using var responder = new XxHandshakeState(false, Convert.FromHexString(v.Resp_static), prologue, Convert.FromHexString(v.Resp_ephemeral));
            var buffer = new byte[65535];
            var payload = new byte[65535];
            for (var i = 0; i < 3; i++)
            {
                var (writer, reader) = i % 2 == 0 ? (initiator, responder) : (responder, initiator);
                var written = writer.WriteMessage(Convert.FromHexString(v.Messages[i].Payload), buffer);
                Assert.Equal(v.Messages[i].Ciphertext, Convert.ToHexStringLower(buffer.AsSpan(0, written)));
                var read = reader.ReadMessage(buffer.AsSpan(0, written), payload);
                Assert.Equal(v.Messages[i].Payload, Convert.ToHexStringLower(payload.AsSpan(0, read)));
            }
            Assert.Equal(v.Handshake_hash, Convert.ToHexStringLower(initiator.HandshakeHash));
            Assert.Equal(v.Handshake_hash, Convert.ToHexStringLower(responder.HandshakeHash));
            var (iSend, iReceive) = initiator.Split();
            var (rSend, rReceive) = responder.Split();
            for (var i = 3; i < v.Messages.Length; i++)
            {
                var (send, receive) = i % 2 == 1 ? (rSend, iReceive) : (iSend, rReceive);
                var plaintext = Convert.FromHexString(v.Messages[i].Payload);
                var written = send.EncryptWithAd([], plaintext, buffer);
                Assert.Equal(v.Messages[i].Ciphertext, Convert.ToHexStringLower(buffer.AsSpan(0, written)));
                var read = receive.DecryptWithAd([], buffer.AsSpan(0, written), payload);
                Assert.Equal(plaintext, payload.AsSpan(0, read).ToArray());
            }
        }
    }

    /// <summary>Runs a libp2p handshake with the bytes delivered in chunks; returns both ends.</summary>
    internal static (NoiseHandshake Initiator, NoiseHandshake Responder) Handshake(PrivateKey dialer, PrivateKey listener, PeerId? expected, int chunk = int.MaxValue)
    {
        var initiator = new NoiseHandshake(true, dialer, expected);
        var responder = new NoiseHandshake(false, listener);
        var toResponder = new ArrayBufferWriter<byte>();
        var toInitiator = new ArrayBufferWriter<byte>();
        initiator.Start(toResponder);
        while (toResponder.WrittenCount > 0 || toInitiator.WrittenCount > 0)
        {
            Deliver(toResponder, responder, toInitiator, chunk);
            Deliver(toInitiator, initiator, toResponder, chunk);
        }
        return (initiator, responder);
    }

    private static void Deliver(ArrayBufferWriter<byte> from, NoiseHandshake to, ArrayBufferWriter<byte> answers, int chunk)
    {
        var bytes = from.WrittenSpan.ToArray();
        from.ResetWrittenCount();
        for (var i = 0; i < bytes.Length && !to.IsFinished; i += chunk)
            to.Receive(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)), answers);
    }

    [Theory]
    [InlineData(KeyType.Ed25519, KeyType.Ed25519, int.MaxValue)]
    [InlineData(KeyType.Secp256k1, KeyType.Ed25519, 1)]
    [InlineData(KeyType.ECDSA, KeyType.Secp256k1, 3)]
    [InlineData(KeyType.RSA, KeyType.ECDSA, 100)]
    public void The_libp2p_handshake_must_authenticate_both_peers_for_any_split(KeyType dialerType, KeyType listenerType, int chunk)
    {
        using var dialer = PrivateKey.Generate(dialerType);
        using var listener = PrivateKey.Generate(listenerType);

        var (initiator, responder) = Handshake(dialer, listener, PeerId.FromPublicKey(listener.PublicKey), chunk);

        Assert.Null(initiator.Error);
        Assert.Null(responder.Error);
        Assert.Equal(PeerId.FromPublicKey(listener.PublicKey), initiator.Session!.RemotePeer);
        Assert.Equal(PeerId.FromPublicKey(dialer.PublicKey), responder.Session!.RemotePeer);
        Assert.Equal(dialer.PublicKey, responder.Session.RemoteKey);

        var frames = new ArrayBufferWriter<byte>();
        initiator.Session.Transport.EncryptAll(new byte[100_000], frames);
        var plaintext = new ArrayBufferWriter<byte>();
        responder.Session.Transport.Decrypt(frames.WrittenSpan, plaintext);
        Assert.Equal(100_000, plaintext.WrittenCount);
    }

    [Fact]
    public void A_handshake_with_another_peer_than_the_one_dialed_must_fail_naming_both()
    {
        using var dialer = PrivateKey.Generate(KeyType.Ed25519);
        using var listener = PrivateKey.Generate(KeyType.Ed25519);
        using var someoneElse = PrivateKey.Generate(KeyType.Ed25519);
        var expected = PeerId.FromPublicKey(someoneElse.PublicKey);

        var (initiator, _) = Handshake(dialer, listener, expected);

        Assert.NotNull(initiator.Error);
        Assert.Contains($"dialed {expected} but the remote is {PeerId.FromPublicKey(listener.PublicKey)}", initiator.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tampered_handshake_message_must_fail_authentication()
    {
        using var dialer = PrivateKey.Generate(KeyType.Ed25519);
        using var listener = PrivateKey.Generate(KeyType.Ed25519);
        var initiator = new NoiseHandshake(true, dialer);
        var responder = new NoiseHandshake(false, listener);
        var toResponder = new ArrayBufferWriter<byte>();
        var toInitiator = new ArrayBufferWriter<byte>();
        initiator.Start(toResponder);
        responder.Receive(toResponder.WrittenSpan, toInitiator);
        var message2 = toInitiator.WrittenSpan.ToArray();
        message2[^1] ^= 0x01;

        initiator.Receive(message2, new ArrayBufferWriter<byte>());

        Assert.Contains("failed authentication", initiator.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_signature_over_the_static_key_must_fail()
    {
        using var dialer = PrivateKey.Generate(KeyType.Ed25519);
        using var listener = PrivateKey.Generate(KeyType.Ed25519);
        // The responder signs one static key but uses another: its signature cannot verify.
        var signedKey = XxHandshakeState.GeneratePrivateKey();
        var initiator = new NoiseHandshake(true, dialer);
        var responder = new LyingResponder(listener, signedKey);
        var toResponder = new ArrayBufferWriter<byte>();
        initiator.Start(toResponder);
        var answer = responder.Answer(toResponder.WrittenSpan);

        initiator.Receive(answer, new ArrayBufferWriter<byte>());

        Assert.Equal("noise: the remote's signature over its static key does not verify", initiator.Error!.Message);
    }

    /// <summary>A responder whose payload signs a static key other than the one it uses.</summary>
    private sealed class LyingResponder(PrivateKey identity, byte[] signedStatic)
    {
        public byte[] Answer(ReadOnlySpan<byte> message1)
        {
            using var xx = new XxHandshakeState(false, XxHandshakeState.GeneratePrivateKey());
            xx.ReadMessage(message1[2..], new byte[64]);
            var signedPublic = new byte[32];
            Org.BouncyCastle.Math.EC.Rfc7748.X25519.GeneratePublicKey(signedStatic, 0, signedPublic, 0);
            var payload = new NoiseHandshakePayload(identity.PublicKey.ToProtobuf(),
                identity.Sign([.. "noise-libp2p-static-key:"u8, .. signedPublic]), []).ToProtobuf();
            var buffer = new byte[2 + XxHandshakeState.MaxMessageLength(payload.Length)];
            var length = xx.WriteMessage(payload, buffer.AsSpan(2));
            buffer[0] = (byte)(length >> 8);
            buffer[1] = (byte)length;
            return buffer[..(2 + length)];
        }
    }

    private static (NoiseTransport Sender, NoiseTransport Receiver) Transports()
    {
        using var a = PrivateKey.Generate(KeyType.Ed25519);
        using var b = PrivateKey.Generate(KeyType.Ed25519);
        var (initiator, responder) = Handshake(a, b, null);
        return (initiator.Session!.Transport, responder.Session!.Transport);
    }

    [Fact]
    public void Transport_frames_must_decrypt_in_any_split_and_refuse_tampering()
    {
        var (sender, receiver) = Transports();
        var frames = new ArrayBufferWriter<byte>();
        sender.Encrypt("first"u8, frames);
        sender.Encrypt("second"u8, frames);
        var plaintext = new ArrayBufferWriter<byte>();
        foreach (var b in frames.WrittenSpan.ToArray())
            receiver.Decrypt([b], plaintext);
        Assert.Equal("firstsecond"u8.ToArray(), plaintext.WrittenSpan.ToArray());
        Assert.False(receiver.HasPartialFrame);

        frames.ResetWrittenCount();
        sender.Encrypt("third"u8, frames);
        var tampered = frames.WrittenSpan.ToArray();
        tampered[3] ^= 0x80;
        var error = Assert.Throws<NoiseException>(() => receiver.Decrypt(tampered, plaintext));
        Assert.Contains("failed authentication", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_frame_cut_short_must_hold_one_pooled_frame_and_give_it_back_when_whole()
    {
        var (sender, receiver) = Transports();
        var frames = new ArrayBufferWriter<byte>();
        sender.Encrypt(new byte[NoiseTransport.MaxPlaintextLength], frames);
        var frame = frames.WrittenSpan.ToArray();
        var plaintext = new ArrayBufferWriter<byte>();
        Assert.Equal(0, receiver.PartialBytes);

        // One byte of the prefix holds nothing yet; the rest of the prefix and some ciphertext hold
        // one array of the transport's pool, which a whole frame fits (the prefix is kept apart).
        receiver.Decrypt(frame.AsSpan(0, 1), plaintext);
        Assert.True(receiver.HasPartialFrame);
        Assert.Equal(0, receiver.PartialBytes);
        receiver.Decrypt(frame.AsSpan(1, 1000), plaintext);
        Assert.Equal(Libp2p.Protocols.Transport.TransportBuffers.Size, receiver.PartialBytes);
        receiver.Decrypt(frame.AsSpan(1001), plaintext);

        Assert.Equal(NoiseTransport.MaxPlaintextLength, plaintext.WrittenCount);
        Assert.False(receiver.HasPartialFrame);
        Assert.Equal(0, receiver.PartialBytes);
    }

    [Fact]
    public void Decrypting_frame_by_frame_must_open_one_frame_per_call_and_say_what_it_took()
    {
        var (sender, receiver) = Transports();
        var frames = new ArrayBufferWriter<byte>();
        sender.Encrypt(new byte[1000], frames);
        sender.Encrypt(new byte[NoiseTransport.MaxPlaintextLength], frames);
        var input = frames.WrittenSpan.ToArray();
        var first = 2 + 1000 + CipherState.TagLength;
        var plaintext = new ArrayBufferWriter<byte>();

        Assert.Equal(first, receiver.DecryptNext(input, plaintext));
        Assert.Equal(1000, plaintext.WrittenCount);
        plaintext.ResetWrittenCount();
        // The second frame cut short: everything is taken, nothing opened until the rest is there.
        Assert.Equal(100, receiver.DecryptNext(input.AsSpan(first, 100), plaintext));
        Assert.Equal(0, plaintext.WrittenCount);
        Assert.Equal(input.Length - first - 100, receiver.DecryptNext(input.AsSpan(first + 100), plaintext));
        Assert.Equal(NoiseTransport.MaxPlaintextLength, plaintext.WrittenCount);
        Assert.False(receiver.HasPartialFrame);
    }

    [Fact]
    public void Oversized_plaintext_and_undersized_frames_must_be_refused()
    {
        var (sender, receiver) = Transports();
        Assert.Throws<ArgumentException>(() => sender.Encrypt(new byte[NoiseTransport.MaxPlaintextLength + 1], new ArrayBufferWriter<byte>()));
        var error = Assert.Throws<NoiseException>(() => receiver.Decrypt([0x00, 0x03, 1, 2, 3], new ArrayBufferWriter<byte>()));
        Assert.Contains("shorter than its tag", error.Message, StringComparison.Ordinal);
        receiver.Decrypt([0x01, 0x00, 1, 2], new ArrayBufferWriter<byte>());
        Assert.True(receiver.HasPartialFrame);
    }

    [Fact]
    public void An_exhausted_nonce_must_end_the_session()
    {
        var cipher = new CipherState();
        cipher.InitializeKey(new byte[32]);
        cipher.Nonce = ulong.MaxValue;
        var error = Assert.Throws<NoiseException>(() => cipher.EncryptWithAd([], [1], new byte[17]));
        Assert.Contains("nonce is exhausted", error.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 300)]
    public bool Random_bytes_must_end_a_handshake_cleanly(byte[] bytes, bool asInitiator, byte split)
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var handshake = new NoiseHandshake(asInitiator, key);
        var output = new ArrayBufferWriter<byte>();
        handshake.Start(output);
        // A plausible length prefix on half the inputs, so message parsing is reached.
        byte[] input = split % 2 == 0 ? [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes] : bytes;
        var chunk = Math.Max(1, split % 13);
        for (var i = 0; i < input.Length && !handshake.IsFinished; i += chunk)
            handshake.Receive(input.AsSpan(i, Math.Min(chunk, input.Length - i)), output);
        return handshake.Session is null || handshake.Error is null;
    }

    [Property(MaxTest = 300)]
    public bool Random_bytes_must_decrypt_or_fail_with_a_noise_error(byte[] bytes)
    {
        var (_, receiver) = Transports();
        try
        {
            receiver.Decrypt(bytes, new ArrayBufferWriter<byte>());
            return true;
        }
        catch (NoiseException)
        {
            return true;
        }
    }
}
