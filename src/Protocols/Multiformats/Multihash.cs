using System.Security.Cryptography;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Multiformats;

/// <summary>The multihash function codes libp2p uses.</summary>
public static class MultihashCode
{
    /// <summary>The identity "hash": the digest is the data itself (inlined keys in peer IDs).</summary>
    public const ulong Identity = 0x00;

    /// <summary>SHA-1 (certificate hashes of old peers).</summary>
    public const ulong Sha1 = 0x11;

    /// <summary>SHA2-256.</summary>
    public const ulong Sha2_256 = 0x12;

    /// <summary>SHA2-512.</summary>
    public const ulong Sha2_512 = 0x13;
}

/// <summary>
/// A self-describing hash: varint function code, varint digest length, digest. Parsing is strict,
/// the digest length must match what follows exactly and fixed-size functions must have their size.
/// </summary>
public sealed class Multihash : IEquatable<Multihash>
{
    /// <summary>The longest digest accepted, so a length field cannot ask for absurd buffers.</summary>
    public const int MaxDigestLength = 4096;

    private readonly byte[] _bytes;

    private Multihash(ulong code, int digestOffset, byte[] bytes)
    {
        Code = code;
        _bytes = bytes;
        DigestOffset = digestOffset;
    }

    /// <summary>The hash function's multicodec code (see <see cref="MultihashCode"/>).</summary>
    public ulong Code { get; }

    private int DigestOffset { get; }

    /// <summary>The digest bytes.</summary>
    public ReadOnlySpan<byte> Digest => _bytes.AsSpan(DigestOffset);

    /// <summary>The whole encoded multihash.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>The whole encoded multihash, as a new array.</summary>
    public byte[] ToBytes() => (byte[])_bytes.Clone();

    /// <summary>Hashes <paramref name="data"/> with the identity or SHA2-256 function.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Another function code.</exception>
    public static Multihash Sum(ulong code, ReadOnlySpan<byte> data) => code switch
    {
        MultihashCode.Identity => Create(code, data),
        MultihashCode.Sha2_256 => Create(code, SHA256.HashData(data)),
        MultihashCode.Sha2_512 => Create(code, SHA512.HashData(data)),
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "only identity, sha2-256 and sha2-512 are computed here"),
    };

    /// <summary>Builds a multihash from a function code and a digest.</summary>
    public static Multihash Create(ulong code, ReadOnlySpan<byte> digest)
    {
        var header = Varint.GetLength(code) + Varint.GetLength((ulong)digest.Length);
        var bytes = new byte[header + digest.Length];
        var offset = Varint.Write(code, bytes);
        offset += Varint.Write((ulong)digest.Length, bytes.AsSpan(offset));
        digest.CopyTo(bytes.AsSpan(offset));
        return new Multihash(code, offset, bytes);
    }

    /// <summary>Parses an encoded multihash that must fill <paramref name="bytes"/> exactly.</summary>
    /// <exception cref="FormatException">Truncated, trailing bytes, or a digest of the wrong size for its function.</exception>
    public static Multihash Parse(ReadOnlySpan<byte> bytes)
    {
        var code = Varint.Read(bytes, out var codeLength);
        var length = Varint.ReadInt32(bytes[codeLength..], out var lengthLength, "multihash digest length", MaxDigestLength);
        var offset = codeLength + lengthLength;
        if (bytes.Length - offset != length)
            throw new FormatException($"multihash: the digest length says {length} bytes but {bytes.Length - offset} follow");
        var expected = code switch
        {
            MultihashCode.Sha1 => 20,
            MultihashCode.Sha2_256 => 32,
            MultihashCode.Sha2_512 => 64,
            _ => -1,
        };
        if (expected >= 0 && length != expected)
            throw new FormatException($"multihash: a digest of code 0x{code:x} must be {expected} bytes, not {length}");
        return new Multihash(code, offset, bytes.ToArray());
    }

    /// <summary>Parses without throwing.</summary>
    public static bool TryParse(ReadOnlySpan<byte> bytes, out Multihash? result)
    {
        try
        {
            result = Parse(bytes);
            return true;
        }
        catch (FormatException)
        {
            result = null;
            return false;
        }
    }

    /// <inheritdoc />
    public bool Equals(Multihash? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Multihash);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }

    /// <summary>The base58btc text of the encoded multihash (the legacy peer ID form).</summary>
    public override string ToString() => SimpleBase.Base58.Bitcoin.Encode(_bytes);
}
