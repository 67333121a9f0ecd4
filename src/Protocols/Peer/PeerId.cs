using System.Diagnostics.CodeAnalysis;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Peer;

/// <summary>
/// A peer's identity (peer-ids spec): the multihash of its protobuf-encoded public key, identity
/// when the encoding is at most 42 bytes (the key is inlined), sha2-256 otherwise. Text form
/// base58btc; the CIDv1 form (libp2p-key) is parsed too. Equality and ordering are over the bytes.
/// </summary>
public sealed class PeerId : IEquatable<PeerId>, IComparable<PeerId>
{
    /// <summary>Encoded keys up to this length are inlined with the identity multihash.</summary>
    public const int MaxInlineKeyLength = 42;

    private const ulong CidVersion1 = 1;
    private const ulong Libp2pKeyCodec = 0x72;

    private readonly Multihash _hash;
    private string? _text;

    private PeerId(Multihash hash) => _hash = hash;

    /// <summary>The peer ID's multihash.</summary>
    public Multihash Multihash => _hash;

    /// <summary>The peer ID of <paramref name="key"/>.</summary>
    public static PeerId FromPublicKey(PublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var encoded = key.Protobuf;
        return new PeerId(Multihash.Sum(encoded.Length <= MaxInlineKeyLength ? MultihashCode.Identity : MultihashCode.Sha2_256, encoded));
    }

    /// <summary>Reads a peer ID from its multihash bytes.</summary>
    /// <exception cref="FormatException">Not an identity or sha2-256 multihash, or an identity one that holds no valid key.</exception>
    public static PeerId FromBytes(ReadOnlySpan<byte> bytes)
    {
        var hash = Multihash.Parse(bytes);
        if (hash.Code == MultihashCode.Identity)
        {
            if (hash.Digest.Length > MaxInlineKeyLength)
                throw new FormatException($"peer ID: an inlined key is at most {MaxInlineKeyLength} bytes, not {hash.Digest.Length}");
            // An inlined key that does not parse names nobody; refuse it now rather than at every use.
            PublicKey.FromProtobuf(hash.Digest);
        }
        else if (hash.Code != MultihashCode.Sha2_256)
            throw new FormatException($"peer ID: multihash code 0x{hash.Code:x} is neither identity nor sha2-256");
        return new PeerId(hash);
    }

    /// <summary>Parses base58btc text (<c>Qm…</c>, <c>12D3KooW…</c>) or a CIDv1 with the libp2p-key codec (<c>bafz…</c>).</summary>
    /// <exception cref="FormatException">The text is neither.</exception>
    public static PeerId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
            throw new FormatException("peer ID: empty text");
        if (text.StartsWith('1') || text.StartsWith("Qm", StringComparison.Ordinal))
        {
            byte[] bytes;
            try
            {
                bytes = Multibase.DecodeBase58(text);
            }
            catch (FormatException e)
            {
                throw new FormatException($"peer ID '{text}': not base58btc ({e.Message})", e);
            }
            return FromBytesNamed(bytes, text);
        }
        byte[] cid;
        try
        {
            cid = Multibase.Decode(text);
        }
        catch (FormatException e)
        {
            throw new FormatException($"peer ID '{text}': neither base58btc nor a multibase CID ({e.Message})", e);
        }
        var version = Varint.Read(cid, out var versionLength);
        if (version != CidVersion1)
            throw new FormatException($"peer ID '{text}': a CID of version {version}, expected 1");
        var codec = Varint.Read(cid.AsSpan(versionLength), out var codecLength);
        if (codec != Libp2pKeyCodec)
            throw new FormatException($"peer ID '{text}': a CID with codec 0x{codec:x}, expected libp2p-key (0x72)");
        return FromBytesNamed(cid.AsSpan(versionLength + codecLength), text);
    }

    /// <summary>Parses without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out PeerId? peerId)
    {
        peerId = null;
        if (text is null)
            return false;
        try
        {
            peerId = Parse(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The multihash bytes.</summary>
    public byte[] ToBytes() => _hash.ToBytes();

    /// <summary>The public key, where the peer ID inlines it (identity multihash).</summary>
    public bool TryExtractPublicKey([NotNullWhen(true)] out PublicKey? key)
    {
        key = _hash.Code == MultihashCode.Identity ? PublicKey.FromProtobuf(_hash.Digest) : null;
        return key is not null;
    }

    /// <summary>Whether <paramref name="key"/> is this peer's key.</summary>
    public bool Matches(PublicKey key) => Equals(FromPublicKey(key));

    /// <summary>The CIDv1 text form: base32, libp2p-key codec.</summary>
    public string ToCidString()
    {
        var hash = _hash.Bytes;
        var cid = new byte[2 + hash.Length];
        cid[0] = (byte)CidVersion1;
        cid[1] = (byte)Libp2pKeyCodec;
        hash.CopyTo(cid.AsSpan(2));
        return Multibase.EncodeBase32(cid);
    }

    /// <summary>The base58btc text form, the one peers display.</summary>
    public override string ToString() => _text ??= _hash.ToString();

    /// <inheritdoc />
    public bool Equals(PeerId? other) => other is not null && _hash.Equals(other._hash);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PeerId);

    /// <inheritdoc />
    public override int GetHashCode() => _hash.GetHashCode();

    /// <inheritdoc />
    public int CompareTo(PeerId? other) => other is null ? 1 : _hash.Bytes.SequenceCompareTo(other._hash.Bytes);

    /// <summary>Equality over the multihash bytes.</summary>
    public static bool operator ==(PeerId? left, PeerId? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality over the multihash bytes.</summary>
    public static bool operator !=(PeerId? left, PeerId? right) => !(left == right);

    private static PeerId FromBytesNamed(ReadOnlySpan<byte> bytes, string text)
    {
        try
        {
            return FromBytes(bytes);
        }
        catch (FormatException e)
        {
            throw new FormatException($"peer ID '{text}': {e.Message}", e);
        }
    }
}
