using System.Formats.Asn1;
using System.Numerics;
using Libp2p.Protocols.Encoding;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Libp2p.Protocols.Tests.Crypto;

/// <summary>RSA keys no honest peer sends: built by hand to test the parser's limits.</summary>
internal static class RsaKeyVectors
{
    /// <summary>An odd modulus of exactly <paramref name="bits"/> bits (not a product of primes; parsing does not care).</summary>
    public static byte[] Modulus(int bits)
    {
        var modulus = new byte[(bits + 7) / 8];
        Random.Shared.NextBytes(modulus);
        var top = bits % 8 == 0 ? 8 : bits % 8;
        modulus[0] = (byte)(modulus[0] & ((1 << top) - 1) | 1 << (top - 1));
        modulus[^1] |= 1;
        return modulus;
    }

    /// <summary>The PKIX SubjectPublicKeyInfo of (n, e), DER.</summary>
    public static byte[] SubjectPublicKeyInfo(byte[] modulus, byte[] exponent)
    {
        var rsa = new AsnWriter(AsnEncodingRules.DER);
        using (rsa.PushSequence())
        {
            rsa.WriteIntegerUnsigned(modulus);
            rsa.WriteIntegerUnsigned(exponent);
        }
        var spki = new AsnWriter(AsnEncodingRules.DER);
        using (spki.PushSequence())
        {
            using (spki.PushSequence())
            {
                spki.WriteObjectIdentifier("1.2.840.113549.1.1.1");
                spki.WriteNull();
            }
            spki.WriteBitString(rsa.Encode());
        }
        return spki.Encode();
    }

    public static byte[] PublicProtobuf(byte[] modulus, byte[] exponent) => PublicProtobuf(SubjectPublicKeyInfo(modulus, exponent));

    public static byte[] PublicProtobuf(byte[] spki) => Protobuf(0x08, spki);

    /// <summary>A real RSA private key (PKCS#1) whose public exponent is <paramref name="exponent"/>.</summary>
    public static byte[] PrivateProtobufWithExponent(int bits, BigInteger exponent)
    {
        var generator = new RsaKeyPairGenerator();
        generator.Init(new RsaKeyGenerationParameters(
            new Org.BouncyCastle.Math.BigInteger(exponent.ToString(System.Globalization.CultureInfo.InvariantCulture)), new SecureRandom(), bits, 80));
        var key = (RsaPrivateCrtKeyParameters)generator.GenerateKeyPair().Private;
        var pkcs1 = new RsaPrivateKeyStructure(key.Modulus, key.PublicExponent, key.Exponent, key.P, key.Q, key.DP, key.DQ, key.QInv).GetEncoded();
        return Protobuf(0x08, pkcs1);
    }

    private static byte[] Protobuf(byte typeTag, byte[] data) =>
        [typeTag, 0x00, 0x12, .. Varint.Encode((ulong)data.Length), .. data];
}
