using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Utilities;
using ECPoint = Org.BouncyCastle.Math.EC.ECPoint;

namespace Libp2p.Protocols.Crypto;

internal static class Secp256k1
{
    public static readonly X9ECParameters Curve = CustomNamedCurves.GetByName("secp256k1");
    public static readonly ECDomainParameters Domain = new(Curve);
    public static readonly BigInteger HalfOrder = Curve.N.ShiftRight(1);
}

/// <summary>A secp256k1 public key; its <c>Data</c> is the 33-byte compressed point, as Bitcoin encodes it.</summary>
public sealed class Secp256k1PublicKey : PublicKey
{
    private readonly ECPublicKeyParameters _parameters;

    private Secp256k1PublicKey(byte[] raw, ECPoint point) : base(raw) =>
        _parameters = new ECPublicKeyParameters(point, Secp256k1.Domain);

    /// <inheritdoc />
    public override KeyType Type => KeyType.Secp256k1;

    internal static Secp256k1PublicKey FromPoint(ECPoint point) => new(point.GetEncoded(compressed: true), point);

    internal static Secp256k1PublicKey FromRaw(ReadOnlySpan<byte> raw)
    {
        // Compressed (33) is the libp2p form; uncompressed (65) is accepted and re-encoded compressed, as go does.
        if (raw.Length is not (33 or 65))
            throw new FormatException($"secp256k1 public key: {raw.Length} bytes, expected 33 (or 65 uncompressed)");
        ECPoint point;
        try
        {
            point = Secp256k1.Curve.Curve.DecodePoint(raw.ToArray());
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new FormatException($"secp256k1 public key: not a point on the curve ({e.Message})", e);
        }
        if (point.IsInfinity || !point.IsValid())
            throw new FormatException("secp256k1 public key: not a valid point");
        return FromPoint(point);
    }

    /// <inheritdoc />
    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (!TryDecodeDer(signature, out var r, out var s))
            return false;
        var signer = new ECDsaSigner();
        signer.Init(false, _parameters);
        return signer.VerifySignature(SHA256.HashData(data), r, s);
    }

    private static bool TryDecodeDer(ReadOnlySpan<byte> signature, out BigInteger r, out BigInteger s)
    {
        r = s = BigInteger.Zero;
        if (signature.Length is < 8 or > 72)
            return false;
        try
        {
            if (Asn1Object.FromByteArray(signature.ToArray()) is not Asn1Sequence { Count: 2 } sequence
                || sequence[0] is not DerInteger rInteger || sequence[1] is not DerInteger sInteger)
                return false;
            r = rInteger.PositiveValue;
            s = sInteger.PositiveValue;
            return r.SignValue > 0 && s.SignValue > 0 && r.CompareTo(Secp256k1.Curve.N) < 0 && s.CompareTo(Secp256k1.Curve.N) < 0;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // BouncyCastle's ASN.1 parser throws what it likes at malformed BER (Asn1ParsingException
            // is an InvalidOperationException): the signature is attacker's bytes, and a malformed one
            // is an invalid one, as Verify promises.
            return false;
        }
    }
}

/// <summary>A secp256k1 private key; its <c>Data</c> is the 32-byte scalar.</summary>
public sealed class Secp256k1PrivateKey : PrivateKey
{
    private readonly ECPrivateKeyParameters _parameters;
    private readonly Secp256k1PublicKey _public;

    private Secp256k1PrivateKey(BigInteger d)
    {
        _parameters = new ECPrivateKeyParameters(d, Secp256k1.Domain);
        _public = Secp256k1PublicKey.FromPoint(Secp256k1.Domain.G.Multiply(d).Normalize());
    }

    /// <inheritdoc />
    public override KeyType Type => KeyType.Secp256k1;

    /// <inheritdoc />
    public override PublicKey PublicKey => _public;

    internal static Secp256k1PrivateKey Generate()
    {
        Span<byte> scalar = stackalloc byte[32];
        while (true)
        {
            RandomNumberGenerator.Fill(scalar);
            var d = new BigInteger(1, scalar);
            if (d.SignValue > 0 && d.CompareTo(Secp256k1.Curve.N) < 0)
                return new Secp256k1PrivateKey(d);
        }
    }

    internal static Secp256k1PrivateKey FromRaw(ReadOnlySpan<byte> raw)
    {
        if (raw.Length != 32)
            throw new FormatException($"secp256k1 private key: {raw.Length} bytes, expected 32");
        var d = new BigInteger(1, raw);
        if (d.SignValue == 0 || d.CompareTo(Secp256k1.Curve.N) >= 0)
            throw new FormatException("secp256k1 private key: the scalar is out of range");
        return new Secp256k1PrivateKey(d);
    }

    /// <inheritdoc />
    public override byte[] Sign(ReadOnlySpan<byte> data)
    {
        // Deterministic k (RFC 6979) and low S, as Bitcoin (BIP 62) and go-libp2p sign.
        var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
        signer.Init(true, _parameters);
        var rs = signer.GenerateSignature(SHA256.HashData(data));
        var s = rs[1].CompareTo(Secp256k1.HalfOrder) > 0 ? Secp256k1.Curve.N.Subtract(rs[1]) : rs[1];
        return new DerSequence(new DerInteger(rs[0]), new DerInteger(s)).GetEncoded(Asn1Encodable.Der);
    }

    /// <inheritdoc />
    protected override byte[] ExportRaw()
    {
        // Always 32 bytes: a scalar with leading zero bytes keeps them.
        return BigIntegers.AsUnsignedByteArray(32, _parameters.D);
    }
}
