using FsCheck.Xunit;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Records;

namespace Libp2p.Protocols.Tests.Records;

public sealed class SignedEnvelopeTests
{
    // Sealed by go-libp2p-core's envelope_test.go (domain "libp2p-testing"), as nim-libp2p's interop test keeps it.
    private const string GoEnvelope =
        "0a24080112206f1581709bb7b1ef030d210db18e3b0ba1c776fba65d8cdaad05415142d189f8"
        + "12102f6c69627032702f7465737464617461"
        + "1a0c68656c6c6f20776f726c6421"
        + "2a401178673b51dfa842aad17e465e25d646ad16628916b964c3fb10c711fee87872bdd4e4646f58c277cdff09704913d8be1aec6322de8d3d0bb852120374aece08";

    public static TheoryData<KeyType> KeyTypes => new() { KeyType.Ed25519, KeyType.Secp256k1, KeyType.ECDSA, KeyType.RSA };

    [Fact]
    public void An_envelope_sealed_by_go_must_open_and_re_encode_to_the_same_bytes()
    {
        var bytes = Convert.FromHexString(GoEnvelope);
        var envelope = SignedEnvelope.Open(bytes, "libp2p-testing");

        Assert.Equal("/libp2p/testdata", System.Text.Encoding.UTF8.GetString(envelope.PayloadType.Span));
        Assert.Equal("hello world!", System.Text.Encoding.UTF8.GetString(envelope.Payload.Span));
        Assert.Equal(KeyType.Ed25519, envelope.PublicKey.Type);
        Assert.Equal(bytes, envelope.ToBytes());
        Assert.Equal(bytes.Length, envelope.GetEncodedLength());
    }

    [Fact]
    public void The_go_envelope_must_not_open_for_another_domain()
    {
        var error = Assert.Throws<InvalidSignatureException>(() => SignedEnvelope.Open(Convert.FromHexString(GoEnvelope), "libp2p-peer-record"));
        Assert.Contains("does not verify for domain 'libp2p-peer-record'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_go_envelope_with_an_altered_payload_must_not_open()
    {
        var altered = GoEnvelope.Replace("1a0c68656c", "1a0c00006c", StringComparison.Ordinal);
        Assert.Throws<InvalidSignatureException>(() => SignedEnvelope.Open(Convert.FromHexString(altered), "libp2p-testing"));
    }

    [Theory]
    [MemberData(nameof(KeyTypes))]
    public void An_envelope_must_round_trip_for_every_key_type(KeyType type)
    {
        using var key = PrivateKey.Generate(type);
        var sealedEnvelope = SignedEnvelope.Seal(key, "akka-testing", [0x03, 0x01], "payload"u8);

        var opened = SignedEnvelope.Open(sealedEnvelope.ToBytes(), "akka-testing");

        Assert.Equal(key.PublicKey, opened.PublicKey);
        Assert.Equal([0x03, 0x01], opened.PayloadType.ToArray());
        Assert.Equal("payload"u8.ToArray(), opened.Payload.ToArray());
        Assert.Equal(sealedEnvelope.Signature.ToArray(), opened.Signature.ToArray());
        Assert.Equal(sealedEnvelope.ToBytes(), opened.ToBytes());
    }

    [Theory]
    [MemberData(nameof(KeyTypes))]
    public void Flipping_any_bit_of_the_payload_type_payload_or_signature_must_be_rejected(KeyType type)
    {
        using var key = PrivateKey.Generate(type);
        var envelope = SignedEnvelope.Seal(key, "akka-testing", [0x03, 0x01], "payload"u8);
        var bytes = envelope.ToBytes();
        // Everything after the public key field: type, payload, signature, with their keys and lengths.
        var keyFieldLength = 2 + key.PublicKey.ToProtobuf().Length + (key.PublicKey.ToProtobuf().Length >= 128 ? 1 : 0);
        for (var i = keyFieldLength; i < bytes.Length; i++)
        {
            foreach (var bit in new[] { 0x01, 0x80 })
            {
                var tampered = (byte[])bytes.Clone();
                tampered[i] ^= (byte)bit;
                var error = Record.Exception(() => SignedEnvelope.Open(tampered, "akka-testing"));
                Assert.True(error is InvalidSignatureException or FormatException, $"byte {i} bit {bit:x}: {error?.GetType().Name ?? "opened"}");
            }
        }
    }

    [Fact]
    public void A_signature_for_one_domain_must_not_verify_in_another()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var bytes = SignedEnvelope.Seal(key, "libp2p-peer-record", [0x03, 0x01], "x"u8).ToBytes();
        Assert.Throws<InvalidSignatureException>(() => SignedEnvelope.Open(bytes, "libp2p-peer-recorD"));
    }

    [Fact]
    public void The_signature_must_cover_the_length_prefixed_domain_type_and_payload()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var envelope = SignedEnvelope.Seal(key, "ab", [0x03], "cd"u8);
        byte[] signed = [2, (byte)'a', (byte)'b', 1, 3, 2, (byte)'c', (byte)'d'];
        Assert.True(key.PublicKey.Verify(signed, envelope.Signature.Span));
    }

    [Fact]
    public void An_empty_payload_must_be_left_out_on_the_wire_and_come_back_empty()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var bytes = SignedEnvelope.Seal(key, "d", [0x01], []).ToBytes();
        // 0a 24 <36-byte key> 12 01 01 2a 40 <64-byte signature>: no field 3 between type and signature.
        Assert.Equal(2 + 36 + 3 + 2 + 64, bytes.Length);
        Assert.Equal([0x12, 0x01, 0x01, 0x2a, 0x40], bytes[38..43]);
        Assert.True(SignedEnvelope.Open(bytes, "d").Payload.IsEmpty);
    }

    [Fact]
    public void Sealing_must_refuse_an_empty_domain_or_payload_type()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        Assert.Throws<ArgumentException>(() => SignedEnvelope.Seal(key, "", [1], "x"u8));
        Assert.Throws<ArgumentException>(() => SignedEnvelope.Seal(key, "d", [], "x"u8));
        Assert.Throws<ArgumentException>(() => SignedEnvelope.Open(Convert.FromHexString(GoEnvelope), ""));
    }

    [Theory]
    [InlineData("", "signed envelope: the public_key field is missing")]
    [InlineData("0a2408011220" + "6f1581709bb7b1ef030d210db18e3b0ba1c776fba65d8cdaad05415142d189f8", "signed envelope: the signature field is missing")]
    [InlineData("0a03080112", "signed envelope: field 1 (public_key) is not a valid key")]
    [InlineData("0a0408011220", "signed envelope: field 1 (public_key) is not a valid key")]
    [InlineData("1a05", "signed envelope: While parsing a protocol message, the input ended unexpectedly in the middle of a field")]
    [InlineData("2801", "signed envelope: the public_key field is missing")] // signature (5) as a varint: skipped as unknown
    public void Malformed_envelopes_must_be_refused_with_the_reason(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => SignedEnvelope.Open(Convert.FromHexString(hex), "d"));
        Assert.StartsWith(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_fields_must_be_skipped_including_the_RFC_field_4()
    {
        var bytes = Convert.FromHexString("2202abcd" + GoEnvelope + "3001");
        Assert.Equal("hello world!", System.Text.Encoding.UTF8.GetString(SignedEnvelope.Open(bytes, "libp2p-testing").Payload.Span));
    }

    [Property(MaxTest = 1000)]
    public bool Random_bytes_must_open_or_fail_with_a_format_or_signature_error(byte[] bytes)
    {
        try
        {
            SignedEnvelope.Open(bytes, "d");
            return false;
        }
        catch (Exception e) when (e is FormatException or InvalidSignatureException)
        {
            return true;
        }
    }
}
