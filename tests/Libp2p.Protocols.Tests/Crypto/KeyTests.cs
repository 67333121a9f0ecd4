using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Crypto;

namespace Libp2p.Protocols.Tests.Crypto;

public sealed class KeyTests
{
    public static TheoryData<KeyType, string, string> SpecVectors => new()
    {
        { KeyType.Ed25519, KeyVectors.Ed25519Private, KeyVectors.Ed25519Public },
        { KeyType.Secp256k1, KeyVectors.Secp256k1Private, KeyVectors.Secp256k1Public },
        { KeyType.ECDSA, KeyVectors.EcdsaPrivate, KeyVectors.EcdsaPublic },
        { KeyType.RSA, KeyVectors.RsaPrivate, KeyVectors.RsaPublic },
    };

    [Theory]
    [MemberData(nameof(SpecVectors))]
    public void Private_keys_of_the_spec_must_encode_back_to_the_same_bytes(KeyType type, string privateHex, string publicHex)
    {
        _ = publicHex;
        using var key = PrivateKey.FromProtobuf(Convert.FromHexString(privateHex));
        Assert.Equal(type, key.Type);
        Assert.Equal(privateHex.ToLowerInvariant(), Convert.ToHexStringLower(key.ToProtobuf()));
    }

    [Theory]
    [MemberData(nameof(SpecVectors))]
    public void The_public_key_derived_from_a_spec_private_key_must_be_the_spec_public_key(KeyType type, string privateHex, string publicHex)
    {
        using var key = PrivateKey.FromProtobuf(Convert.FromHexString(privateHex));
        Assert.Equal(publicHex.ToLowerInvariant(), Convert.ToHexStringLower(key.PublicKey.ToProtobuf()));
        var parsed = PublicKey.FromProtobuf(Convert.FromHexString(publicHex));
        Assert.Equal(type, parsed.Type);
        Assert.Equal(key.PublicKey, parsed);
        Assert.Equal(publicHex.ToLowerInvariant(), Convert.ToHexStringLower(parsed.ToProtobuf()));
    }

    [Theory]
    [MemberData(nameof(SpecVectors))]
    public void Signatures_of_a_spec_key_must_verify_and_tampering_must_not(KeyType type, string privateHex, string publicHex)
    {
        _ = type;
        using var key = PrivateKey.FromProtobuf(Convert.FromHexString(privateHex));
        var verifier = PublicKey.FromProtobuf(Convert.FromHexString(publicHex));
        var message = "libp2p on Akka.NET"u8.ToArray();

        var signature = key.Sign(message);

        Assert.True(verifier.Verify(message, signature));
        Assert.False(verifier.Verify("libp2p on Akka.NEt"u8, signature));
        signature[^1] ^= 1;
        Assert.False(verifier.Verify(message, signature));
        Assert.False(verifier.Verify(message, []));
    }

    [Fact]
    public void Ed25519_must_sign_as_RFC_8032_test_1_does()
    {
        using var key = Ed25519PrivateKey.FromSeed(Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
        Assert.Equal("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", Convert.ToHexStringLower(key.PublicKey.Raw.Span));
        Assert.Equal(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            Convert.ToHexStringLower(key.Sign([])));
    }

    [Fact]
    public void Secp256k1_signatures_must_be_deterministic_low_S_and_verify_with_OpenSSL()
    {
        using var key = PrivateKey.FromProtobuf(Convert.FromHexString(KeyVectors.Secp256k1Private));
        var message = "hello"u8.ToArray();
        var signature = key.Sign(message);
        Assert.Equal(signature, key.Sign(message));

        // An independent implementation (OpenSSL through .NET) must accept our DER signature.
        using var openssl = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.CreateFromFriendlyName("secp256k1"),
            Q = Uncompress(key.PublicKey.Raw.Span),
        });
        Assert.True(openssl.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    private static ECPoint Uncompress(ReadOnlySpan<byte> compressed)
    {
        var point = Org.BouncyCastle.Crypto.EC.CustomNamedCurves.GetByName("secp256k1").Curve.DecodePoint(compressed.ToArray()).Normalize();
        return new ECPoint
        {
            X = point.AffineXCoord.GetEncoded(),
            Y = point.AffineYCoord.GetEncoded(),
        };
    }

    [Theory]
    [InlineData(KeyType.Ed25519)]
    [InlineData(KeyType.Secp256k1)]
    [InlineData(KeyType.ECDSA)]
    [InlineData(KeyType.RSA)]
    public void Generated_keys_must_round_trip_and_sign(KeyType type)
    {
        using var key = PrivateKey.Generate(type);
        using var again = PrivateKey.FromProtobuf(key.ToProtobuf());
        Assert.Equal(key.PublicKey, again.PublicKey);
        Assert.Equal(key.ToProtobuf(), again.ToProtobuf());
        Assert.True(again.PublicKey.Verify("x"u8, key.Sign("x"u8)));
    }

    [Theory]
    [InlineData("", "private key: the Type field is missing")]
    [InlineData("0801", "private key: the Data field is missing")]
    [InlineData("080412020000", "private key: unknown key type 4")]
    [InlineData("0801120401020304", "Ed25519 private key: 4 bytes")]
    [InlineData("080112ff01", "Data says 255 bytes but 0 remain")]
    [InlineData("0801080112020000", "the Type field appears twice")]
    [InlineData("0a0100", "field 1 has wire type 2")]
    [InlineData("08021220" + "0000000000000000000000000000000000000000000000000000000000000000", "the scalar is out of range")]
    public void Malformed_private_keys_must_be_refused_with_the_reason(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => PrivateKey.FromProtobuf(Convert.FromHexString(hex)));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("08011220" + "0000000000000000000000000000000000000000000000000000000000000080", "Ed25519 public key: not a point")]
    [InlineData("08021221" + "050000000000000000000000000000000000000000000000000000000000000000", "secp256k1 public key")]
    [InlineData("080312020000", "ECDSA public key: not a DER")]
    [InlineData("080012020000", "RSA public key: not a DER")]
    // Found by the public-key fuzz target: a P-256 key whose curve OID became 1.2.840.10045.3.8.7,
    // a curve OpenSSL does not know, threw PlatformNotSupportedException.
    [InlineData("0803125b3059301306072a8648ce3d020106082a8648ce3d03080703420004de3d300fa36ae0e8f5d5308985e71d6851510c098e5c47c646a597d9ecda020e8b6d5f8da30525d21d6851510c51510c098e5c47c6d94d03125b30597f409e62", "ECDSA public key: the curve 1.2.840.10045.3.8.7 is not supported")]
    public void Malformed_public_keys_must_be_refused_with_the_reason(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => PublicKey.FromProtobuf(Convert.FromHexString(hex)));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ECDSA_private_key_on_a_curve_the_platform_lacks_must_be_refused_as_malformed()
    {
        var sec1 = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (sec1.PushSequence())
        {
            sec1.WriteInteger(1);
            sec1.WriteOctetString(Enumerable.Repeat((byte)7, 32).ToArray());
            using (sec1.PushSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0)))
                sec1.WriteObjectIdentifier("1.2.840.10045.3.8.7");
        }
        var der = sec1.Encode();
        byte[] bytes = [0x08, 0x03, 0x12, (byte)der.Length, .. der];
        var error = Assert.Throws<FormatException>(() => PrivateKey.FromProtobuf(bytes));
        Assert.Contains("ECDSA private key: the curve 1.2.840.10045.3.8.7 is not supported", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RSA_keys_under_2048_bits_must_be_refused()
    {
        using var weak = RSA.Create(1024);
        var error = Assert.Throws<FormatException>(() => PublicKey.FromProtobuf(RsaKeyVectors.PublicProtobuf(weak.ExportSubjectPublicKeyInfo())));
        Assert.Contains("modulus of 1024 bits is below the minimum of 2048", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_RSA_modulus_of_256_bytes_but_2047_bits_must_be_refused_as_go_does()
    {
        // go-libp2p counts the modulus's bits, not its bytes: a leading 0x7f byte makes 2047.
        var modulus = RsaKeyVectors.Modulus(2048);
        modulus[0] = 0x7f;
        var error = Assert.Throws<FormatException>(() => PublicKey.FromProtobuf(RsaKeyVectors.PublicProtobuf(modulus, [1, 0, 1])));
        Assert.Contains("modulus of 2047 bits is below the minimum of 2048", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RSA_keys_over_8192_bits_must_be_refused()
    {
        var error = Assert.Throws<FormatException>(() => PublicKey.FromProtobuf(RsaKeyVectors.PublicProtobuf(RsaKeyVectors.Modulus(8200), [1, 0, 1])));
        Assert.Contains("modulus of 8200 bits is above the maximum of 8192", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_RSA_public_key_with_an_exponent_as_large_as_its_modulus_must_be_refused()
    {
        // e = n - 2 makes every verification a full modular exponentiation: 6 ms each at 3072 bits.
        var modulus = RsaKeyVectors.Modulus(3072);
        var exponent = (new System.Numerics.BigInteger(modulus, isUnsigned: true, isBigEndian: true) - 2).ToByteArray(isUnsigned: true, isBigEndian: true);
        var error = Assert.Throws<FormatException>(() => PublicKey.FromProtobuf(RsaKeyVectors.PublicProtobuf(modulus, exponent)));
        Assert.Contains("public exponent of 3072 bits is above the maximum of 2^32", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0100000001", "public exponent of 33 bits is above the maximum of 2^32")]
    // OpenSSL itself refuses these on import; the limits check them again for other platforms.
    [InlineData("01", "RSA public key")]
    [InlineData("010000", "RSA public key")]
    public void RSA_public_exponents_out_of_range_must_be_refused(string exponentHex, string reason)
    {
        var bytes = RsaKeyVectors.PublicProtobuf(RsaKeyVectors.Modulus(2048), Convert.FromHexString(exponentHex));
        var error = Assert.Throws<FormatException>(() => PublicKey.FromProtobuf(bytes));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_RSA_public_exponent_of_2_to_the_32_plus_1_is_refused_and_2_to_the_32_minus_1_is_not()
    {
        var modulus = RsaKeyVectors.Modulus(2048);
        Assert.Throws<FormatException>(() => PublicKey.FromProtobuf(RsaKeyVectors.PublicProtobuf(modulus, Convert.FromHexString("0100000001"))));
        var key = PublicKey.FromProtobuf(RsaKeyVectors.PublicProtobuf(modulus, Convert.FromHexString("ffffffff")));
        Assert.Equal(KeyType.RSA, key.Type);
    }

    [Fact]
    public void An_RSA_private_key_with_a_huge_public_exponent_must_be_refused()
    {
        var bytes = RsaKeyVectors.PrivateProtobufWithExponent(2048, (System.Numerics.BigInteger.One << 40) + 15);
        var error = Assert.Throws<FormatException>(() => PrivateKey.FromProtobuf(bytes));
        Assert.Contains("RSA private key: public exponent of 41 bits is above the maximum of 2^32", error.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 1000)]
    public bool Random_bytes_must_decode_to_a_key_or_a_format_error(byte[] bytes, bool asPrivate, byte type)
    {
        // Half the inputs get a valid header, so the per-type decoders are fuzzed too.
        var input = asPrivate ? bytes : [0x08, (byte)(type % 4), 0x12, (byte)Math.Min(bytes.Length, 127), .. bytes.AsSpan(0, Math.Min(bytes.Length, 127))];
        try
        {
            if (asPrivate)
                PrivateKey.FromProtobuf(input).Dispose();
            else
                PublicKey.FromProtobuf(input);
            return true;
        }
        catch (FormatException)
        {
            return true;
        }
    }

    [Property(MaxTest = 50)]
    public Property Ed25519_and_secp256k1_signatures_must_verify_for_any_message() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), Gen.Elements(KeyType.Ed25519, KeyType.Secp256k1).ToArbitrary(), (message, type) =>
        {
            using var key = PrivateKey.Generate(type);
            return key.PublicKey.Verify(message, key.Sign(message));
        });
}
