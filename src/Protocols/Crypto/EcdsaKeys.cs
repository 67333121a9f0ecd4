using System.Formats.Asn1;
using System.Security.Cryptography;

namespace Libp2p.Protocols.Crypto;

internal static class NistP256
{
    public const string Oid = "1.2.840.10045.3.1.7";

    public static void RequireP256(ECDsa key, string what)
    {
        var curve = key.ExportParameters(false).Curve;
        if (curve.Oid?.Value != Oid && curve.Oid?.FriendlyName is not ("nistP256" or "ECDSA_P256" or "prime256v1"))
            throw new FormatException($"{what}: the curve is not NIST P-256");
    }

    /// <summary>
    /// The error for a key on a named curve the platform lacks: .NET throws
    /// PlatformNotSupportedException for it, which a peer must not be able to raise.
    /// </summary>
    public static FormatException Unsupported(string what, ReadOnlySpan<byte> der, bool sec1, PlatformNotSupportedException e) =>
        new($"{what}: the curve {CurveOid(der, sec1)} is not supported, only NIST P-256", e);

    // The curve's OID: SubjectPublicKeyInfo's algorithm parameters, or SEC1's [0] parameters.
    private static string CurveOid(ReadOnlySpan<byte> der, bool sec1)
    {
        try
        {
            var key = new AsnReader(der.ToArray(), AsnEncodingRules.BER).ReadSequence();
            if (sec1)
            {
                key.ReadInteger();
                key.ReadOctetString();
                return key.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadObjectIdentifier();
            }
            var algorithm = key.ReadSequence();
            algorithm.ReadObjectIdentifier();
            return algorithm.ReadObjectIdentifier();
        }
        catch (AsnContentException)
        {
            return "(unreadable)";
        }
    }
}

/// <summary>An ECDSA P-256 public key; its <c>Data</c> is the DER SubjectPublicKeyInfo (PKIX).</summary>
public sealed class EcdsaPublicKey : PublicKey
{
    private readonly ECDsa _key;

    private EcdsaPublicKey(byte[] raw, ECDsa key) : base(raw) => _key = key;

    /// <inheritdoc />
    public override KeyType Type => KeyType.ECDSA;

    internal static EcdsaPublicKey FromRaw(ReadOnlySpan<byte> raw)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(raw, out var read);
            if (read != raw.Length)
                throw new FormatException($"ECDSA public key: {raw.Length - read} bytes after the key");
            NistP256.RequireP256(key, "ECDSA public key");
            return new EcdsaPublicKey(key.ExportSubjectPublicKeyInfo(), key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new FormatException($"ECDSA public key: not a DER SubjectPublicKeyInfo ({e.Message})", e);
        }
        catch (PlatformNotSupportedException e)
        {
            key.Dispose();
            throw NistP256.Unsupported("ECDSA public key", raw, sec1: false, e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    internal static EcdsaPublicKey FromKey(ECDsa privateKey)
    {
        var spki = privateKey.ExportSubjectPublicKeyInfo();
        var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(spki, out _);
        return new EcdsaPublicKey(spki, key);
    }

    /// <inheritdoc />
    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        try
        {
            return _key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>An ECDSA P-256 private key; its <c>Data</c> is the DER SEC1 ECPrivateKey, as go marshals it.</summary>
public sealed class EcdsaPrivateKey : PrivateKey
{
    private readonly ECDsa _key;
    private readonly EcdsaPublicKey _public;

    private EcdsaPrivateKey(ECDsa key)
    {
        _key = key;
        _public = EcdsaPublicKey.FromKey(key);
    }

    /// <inheritdoc />
    public override KeyType Type => KeyType.ECDSA;

    /// <inheritdoc />
    public override PublicKey PublicKey => _public;

    internal static EcdsaPrivateKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    internal static EcdsaPrivateKey FromRaw(ReadOnlySpan<byte> raw)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportECPrivateKey(raw, out var read);
            if (read != raw.Length)
                throw new FormatException($"ECDSA private key: {raw.Length - read} bytes after the key");
            NistP256.RequireP256(key, "ECDSA private key");
            return new EcdsaPrivateKey(key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new FormatException($"ECDSA private key: not a DER EC private key ({e.Message})", e);
        }
        catch (PlatformNotSupportedException e)
        {
            key.Dispose();
            throw NistP256.Unsupported("ECDSA private key", raw, sec1: true, e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override byte[] Sign(ReadOnlySpan<byte> data) =>
        _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <inheritdoc />
    protected override byte[] ExportRaw() => _key.ExportECPrivateKey();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _key.Dispose();
    }
}
