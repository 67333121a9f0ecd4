using System.Security.Cryptography;

namespace Libp2p.Protocols.Crypto;

internal static class RsaLimits
{
    // go-libp2p refuses weaker keys, and bounds the size so a peer cannot make us verify forever.
    public const int MinBits = 2048;
    public const int MaxBits = 8192;

    // A verification costs one exponentiation by e: with e near n, 6 ms at 3072 bits instead of
    // microseconds. Honest keys use 65537; 2^32 leaves room for any real one.
    public const ulong MaxExponent = 1UL << 32;

    /// <summary>Refuses a key whose modulus or public exponent is out of bounds, as go-libp2p counts them.</summary>
    /// <exception cref="FormatException">With what is wrong.</exception>
    public static void Check(RSA key, string what)
    {
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var modulusBits = BitLength(parameters.Modulus);
        if (modulusBits < MinBits)
            throw new FormatException($"{what}: modulus of {modulusBits} bits is below the minimum of {MinBits}");
        if (modulusBits > MaxBits)
            throw new FormatException($"{what}: modulus of {modulusBits} bits is above the maximum of {MaxBits}");
        var exponent = parameters.Exponent.AsSpan().TrimStart((byte)0);
        var exponentBits = BitLength(exponent);
        var e = 0UL;
        if (exponentBits <= 64)
        {
            foreach (var b in exponent)
                e = e << 8 | b;
        }
        if (exponentBits > 64 || e > MaxExponent)
            throw new FormatException($"{what}: public exponent of {exponentBits} bits is above the maximum of 2^32");
        if (e < 3 || e % 2 == 0)
            throw new FormatException($"{what}: public exponent {e} is not an odd number of at least 3");
    }

    private static int BitLength(ReadOnlySpan<byte> bigEndian)
    {
        bigEndian = bigEndian.TrimStart((byte)0);
        return bigEndian.IsEmpty ? 0 : bigEndian.Length * 8 - System.Numerics.BitOperations.LeadingZeroCount((uint)bigEndian[0]) + 24;
    }
}

/// <summary>An RSA public key; its <c>Data</c> is the DER SubjectPublicKeyInfo (PKIX).</summary>
public sealed class RsaPublicKey : PublicKey
{
    private readonly RSA _key;

    private RsaPublicKey(byte[] raw, RSA key) : base(raw) => _key = key;

    /// <inheritdoc />
    public override KeyType Type => KeyType.RSA;

    /// <summary>The modulus size in bits.</summary>
    public int KeySize => _key.KeySize;

    internal static RsaPublicKey FromRaw(ReadOnlySpan<byte> raw)
    {
        var key = RSA.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(raw, out var read);
            if (read != raw.Length)
                throw new FormatException($"RSA public key: {raw.Length - read} bytes after the key");
            RsaLimits.Check(key, "RSA public key");
            return new RsaPublicKey(key.ExportSubjectPublicKeyInfo(), key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new FormatException($"RSA public key: not a DER SubjectPublicKeyInfo ({e.Message})", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    internal static RsaPublicKey FromKey(RSA privateKey)
    {
        var spki = privateKey.ExportSubjectPublicKeyInfo();
        var key = RSA.Create();
        key.ImportSubjectPublicKeyInfo(spki, out _);
        return new RsaPublicKey(spki, key);
    }

    /// <inheritdoc />
    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        try
        {
            return _key.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>An RSA private key; its <c>Data</c> is the DER PKCS#1 RSAPrivateKey.</summary>
public sealed class RsaPrivateKey : PrivateKey
{
    private readonly RSA _key;
    private readonly RsaPublicKey _public;

    private RsaPrivateKey(RSA key)
    {
        _key = key;
        _public = RsaPublicKey.FromKey(key);
    }

    /// <inheritdoc />
    public override KeyType Type => KeyType.RSA;

    /// <inheritdoc />
    public override PublicKey PublicKey => _public;

    internal static RsaPrivateKey Generate(int bits)
    {
        if (bits is < RsaLimits.MinBits or > RsaLimits.MaxBits)
            throw new ArgumentOutOfRangeException(nameof(bits), bits, $"RSA keys have {RsaLimits.MinBits} to {RsaLimits.MaxBits} bits");
        var key = RSA.Create(bits);
        RsaLimits.Check(key, "generated RSA key");
        return new RsaPrivateKey(key);
    }

    internal static RsaPrivateKey FromRaw(ReadOnlySpan<byte> raw)
    {
        var key = RSA.Create();
        try
        {
            key.ImportRSAPrivateKey(raw, out var read);
            if (read != raw.Length)
                throw new FormatException($"RSA private key: {raw.Length - read} bytes after the key");
            RsaLimits.Check(key, "RSA private key");
            return new RsaPrivateKey(key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new FormatException($"RSA private key: not a DER PKCS#1 key ({e.Message})", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override byte[] Sign(ReadOnlySpan<byte> data) =>
        _key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    /// <inheritdoc />
    protected override byte[] ExportRaw() => _key.ExportRSAPrivateKey();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _key.Dispose();
    }
}
