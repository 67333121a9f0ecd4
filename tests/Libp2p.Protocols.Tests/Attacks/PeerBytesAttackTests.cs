using System.Buffers;
using System.Diagnostics;
using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;
using Libp2p.Protocols.Tls;

namespace Libp2p.Protocols.Tests.Attacks;

/// <summary>
/// Bytes a remote peer controls, fed to the codecs that read them: each test asserts the error the
/// callers catch (or the bounded cost they rely on). Every test here fails on the code as it stands.
/// </summary>
public class PeerBytesAttackTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // A BER EXTERNAL (tag 8, constructed) of indefinite length whose contents end early: 17 bytes,
    // within the 8..72 bytes Secp256k1PublicKey.TryDecodeDer lets through to BouncyCastle, which
    // throws Asn1ParsingException (an InvalidOperationException) rather than an IOException.
    private static readonly byte[] MalformedBerSignature = Convert.FromHexString("2880010100010100010100010100030100");

    /// <summary>A real secp256k1 identity whose signatures are the attacker's bytes.</summary>
    private sealed class ForgingKey(PrivateKey inner, byte[] signature) : PrivateKey
    {
        public override KeyType Type => inner.Type;

        public override PublicKey PublicKey => inner.PublicKey;

        public override byte[] Sign(ReadOnlySpan<byte> data) => (byte[])signature.Clone();

        protected override byte[] ExportRaw() => inner.ToProtobuf()[4..];
    }

    private static ForgingKey Attacker() => new(PrivateKey.Generate(KeyType.Secp256k1), MalformedBerSignature);

    [Fact]
    public void Secp256k1_verify_of_a_malformed_BER_signature_returns_false()
    {
        var key = PrivateKey.Generate(KeyType.Secp256k1).PublicKey;

        // PublicKey.Verify's contract: "false for any malformed signature".
        Assert.False(key.Verify("data"u8, MalformedBerSignature));
    }

    [Fact]
    public void Signed_peer_record_with_a_malformed_secp256k1_signature_is_an_InvalidSignatureException()
    {
        var attacker = Attacker();
        var record = new PeerRecord(PeerId.FromPublicKey(attacker.PublicKey), 1, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/1")]);
        var envelope = SignedEnvelope.Seal(attacker, PeerRecord.Domain, PeerRecord.PayloadType, record.ToBytes()).ToBytes();

        // IdentifyService.Verify catches FormatException or InvalidSignatureException only; the
        // IdentifyActor that calls it would crash (and restart, losing every peer's result).
        Assert.Throws<InvalidSignatureException>(() => PeerRecord.FromEnvelope(envelope));
    }

    [Fact]
    public void Tls_certificate_whose_secp256k1_host_key_signature_is_malformed_BER_is_a_TlsException()
    {
        using var certificate = Libp2pCertificate.Create(Attacker(), Now);

        // Documented: "TlsException: any of those fails"; TlsHandshake.ValidateRemote catches only TlsException.
        Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));
    }

    [Fact]
    public void Noise_handshake_with_a_malformed_secp256k1_identity_signature_fails_with_a_NoiseException()
    {
        using var responder = new NoiseHandshake(initiator: false, PrivateKey.Generate(KeyType.Ed25519));
        using var initiator = new NoiseHandshake(initiator: true, Attacker());
        var toResponder = new ArrayBufferWriter<byte>();
        var toInitiator = new ArrayBufferWriter<byte>();
        initiator.Start(toResponder);
        responder.Receive(toResponder.WrittenSpan, toInitiator);
        toResponder.Clear();
        initiator.Receive(toInitiator.WrittenSpan, toResponder);
        Assert.Null(initiator.Error);

        // "Never throws for bad input: it fails the handshake with Error instead." The third message
        // carries the initiator's identity key and signature, before anything is authenticated.
        var thrown = Record.Exception(() => responder.Receive(toResponder.WrittenSpan, new ArrayBufferWriter<byte>()));
        Assert.Null(thrown);
        Assert.IsType<NoiseException>(responder.Error);
    }

    /// <summary>
    /// The certificate key is the remote's throwaway one, sent before anything is authenticated:
    /// BouncyCastle's own check of a 16,384-bit key with a 16,376-bit exponent took 17 s of CPU for
    /// one certificate. It must be bounded as host keys are, before any arithmetic.
    /// </summary>
    [Theory]
    [InlineData(16384, 17, "tls: the certificate's RSA key: modulus of 16384 bits is above the maximum of 8192")]
    [InlineData(2048, 16376, "tls: the certificate's RSA key: public exponent of 16376 bits is above the maximum of 2^32")]
    public void Tls_certificate_whose_RSA_key_is_out_of_bounds_must_be_refused_naming_the_bound(int modulusBits, int exponentBits, string message)
    {
        var modulus = OddWithoutSmallFactors(modulusBits);
        var exponent = exponentBits < 64 ? new BigInteger(65537) : OddWithoutSmallFactors(exponentBits);
        var signature = RandomNumberGenerator.GetBytes(modulusBits / 8);
        signature[0] = 1;
        var der = RsaCertificate(modulus, exponent, signature);

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(der, Now));

        Assert.Equal(message, error.Message);
    }

    private static BigInteger OddWithoutSmallFactors(int bits)
    {
        while (true)
        {
            var bytes = RandomNumberGenerator.GetBytes(bits / 8);
            bytes[0] |= 0x80;
            bytes[^1] |= 1;
            var n = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            var ok = true;
            for (var p = 3; p < 1000 && ok; p += 2)
                ok = n % p != 0;
            if (ok)
                return n;
        }
    }

    private static byte[] RsaCertificate(BigInteger modulus, BigInteger exponent, byte[] signature)
    {
        var rsaKey = new AsnWriter(AsnEncodingRules.DER);
        using (rsaKey.PushSequence())
        {
            rsaKey.WriteInteger(modulus);
            rsaKey.WriteInteger(exponent);
        }
        var spki = new AsnWriter(AsnEncodingRules.DER);
        using (spki.PushSequence())
        {
            using (spki.PushSequence())
            {
                spki.WriteObjectIdentifier("1.2.840.113549.1.1.1");
                spki.WriteNull();
            }
            spki.WriteBitString(rsaKey.Encode());
        }
        static void Sha256WithRsa(AsnWriter w)
        {
            using (w.PushSequence())
            {
                w.WriteObjectIdentifier("1.2.840.113549.1.1.11");
                w.WriteNull();
            }
        }
        var tbs = new AsnWriter(AsnEncodingRules.DER);
        using (tbs.PushSequence())
        {
            using (tbs.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
                tbs.WriteInteger(2);
            tbs.WriteInteger(12345);
            Sha256WithRsa(tbs);
            using (tbs.PushSequence()) { } // issuer
            using (tbs.PushSequence())
            {
                tbs.WriteUtcTime(Now.AddYears(-1));
                tbs.WriteUtcTime(Now.AddYears(1));
            }
            using (tbs.PushSequence()) { } // subject
            tbs.WriteEncodedValue(spki.Encode());
        }
        var certificate = new AsnWriter(AsnEncodingRules.DER);
        using (certificate.PushSequence())
        {
            certificate.WriteEncodedValue(tbs.Encode());
            Sha256WithRsa(certificate);
            certificate.WriteBitString(signature);
        }
        return certificate.Encode();
    }
}
