using System.Buffers;
using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Libp2p.Protocols.Crypto;

/// <summary>An Ed25519 public key: 32 bytes, decoded once so verification skips the point decoding.</summary>
public sealed class Ed25519PublicKey : PublicKey
{
    private readonly Ed25519.PublicPoint _point;

    private Ed25519PublicKey(byte[] raw, Ed25519.PublicPoint point) : base(raw) => _point = point;

    /// <inheritdoc />
    public override KeyType Type => KeyType.Ed25519;

    internal static Ed25519PublicKey FromRaw(ReadOnlySpan<byte> raw)
    {
        if (raw.Length != Ed25519.PublicKeySize)
            throw new FormatException($"Ed25519 public key: {raw.Length} bytes, expected {Ed25519.PublicKeySize}");
        var bytes = raw.ToArray();
        var point = Ed25519.ValidatePublicKeyPartialExport(bytes, 0)
            ?? throw new FormatException("Ed25519 public key: not a point on the curve");
        return new Ed25519PublicKey(bytes, point);
    }

    /// <inheritdoc />
    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != Ed25519.SignatureSize)
            return false;
        var rented = ArrayPool<byte>.Shared.Rent(data.Length + Ed25519.SignatureSize);
        try
        {
            signature.CopyTo(rented);
            data.CopyTo(rented.AsSpan(Ed25519.SignatureSize));
            return Ed25519.Verify(rented, 0, _point, rented, Ed25519.SignatureSize, data.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

/// <summary>An Ed25519 private key; its <c>Data</c> is the 32-byte seed followed by the public key.</summary>
public sealed class Ed25519PrivateKey : PrivateKey
{
    private readonly byte[] _seed;
    private readonly Ed25519PublicKey _public;

    private Ed25519PrivateKey(byte[] seed)
    {
        _seed = seed;
        var publicKey = new byte[Ed25519.PublicKeySize];
        Ed25519.GeneratePublicKey(seed, 0, publicKey, 0);
        _public = Ed25519PublicKey.FromRaw(publicKey);
    }

    /// <inheritdoc />
    public override KeyType Type => KeyType.Ed25519;

    /// <inheritdoc />
    public override PublicKey PublicKey => _public;

    /// <summary>A key from its 32-byte seed (RFC 8032's private key).</summary>
    public static Ed25519PrivateKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != Ed25519.SecretKeySize)
            throw new FormatException($"Ed25519 seed: {seed.Length} bytes, expected {Ed25519.SecretKeySize}");
        return new Ed25519PrivateKey(seed.ToArray());
    }

    internal static Ed25519PrivateKey Generate()
    {
        var seed = new byte[Ed25519.SecretKeySize];
        RandomNumberGenerator.Fill(seed);
        return new Ed25519PrivateKey(seed);
    }

    internal static Ed25519PrivateKey FromRaw(ReadOnlySpan<byte> raw)
    {
        // 64 bytes is seed + public key; 96 is an old libp2p form with the public key twice.
        if (raw.Length is not (64 or 96))
            throw new FormatException($"Ed25519 private key: {raw.Length} bytes, expected 64 (or the legacy 96)");
        if (raw.Length == 96 && !raw.Slice(32, 32).SequenceEqual(raw.Slice(64, 32)))
            throw new FormatException("Ed25519 private key: the legacy 96-byte form holds two different public keys");
        var key = FromSeed(raw[..32]);
        if (!raw.Slice(32, 32).SequenceEqual(key._public.Raw.Span))
        {
            key.Dispose();
            throw new FormatException("Ed25519 private key: the public key does not belong to the seed");
        }
        return key;
    }

    /// <inheritdoc />
    public override byte[] Sign(ReadOnlySpan<byte> data)
    {
        var signature = new byte[Ed25519.SignatureSize];
        var message = ArrayPool<byte>.Shared.Rent(data.Length);
        try
        {
            data.CopyTo(message);
            Ed25519.Sign(_seed, 0, message, 0, data.Length, signature, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(message);
        }
        return signature;
    }

    /// <inheritdoc />
    protected override byte[] ExportRaw() => [.. _seed, .. _public.Raw.Span];

    /// <inheritdoc />
    protected override void Dispose(bool disposing) => CryptographicOperations.ZeroMemory(_seed);
}
