namespace Libp2p.Protocols.Crypto;

/// <summary>
/// A libp2p public key (crypto.proto <c>PublicKey</c>). Immutable and thread-safe: verification
/// may run on any thread at once.
/// </summary>
public abstract class PublicKey : IEquatable<PublicKey>
{
    private byte[]? _protobuf;

    private protected PublicKey(byte[] raw) => RawBytes = raw;

    /// <summary>The algorithm.</summary>
    public abstract KeyType Type { get; }

    /// <summary>The <c>Data</c> field: the key in its type's encoding (see the peer-ids spec).</summary>
    public ReadOnlyMemory<byte> Raw => RawBytes;

    private protected byte[] RawBytes { get; }

    /// <summary>Checks <paramref name="signature"/> over <paramref name="data"/>; false for any malformed signature.</summary>
    public abstract bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature);

    /// <summary>The deterministic protobuf encoding, from which peer IDs are derived.</summary>
    public byte[] ToProtobuf() => (byte[])Protobuf.Clone();

    internal byte[] Protobuf => _protobuf ??= KeyProtobuf.Encode(Type, RawBytes);

    /// <summary>Decodes a protobuf-encoded public key.</summary>
    /// <exception cref="FormatException">Not a valid key of a supported type.</exception>
    public static PublicKey FromProtobuf(ReadOnlySpan<byte> bytes)
    {
        var (type, data) = KeyProtobuf.Decode(bytes, "public key");
        return FromRaw(type, data);
    }

    /// <summary>Builds a public key from its type and <c>Data</c> bytes.</summary>
    /// <exception cref="FormatException">The bytes are not a valid key of that type.</exception>
    public static PublicKey FromRaw(KeyType type, ReadOnlySpan<byte> data) => type switch
    {
        KeyType.Ed25519 => Ed25519PublicKey.FromRaw(data),
        KeyType.Secp256k1 => Secp256k1PublicKey.FromRaw(data),
        KeyType.ECDSA => EcdsaPublicKey.FromRaw(data),
        KeyType.RSA => RsaPublicKey.FromRaw(data),
        _ => throw new FormatException($"public key: unknown key type {(int)type}"),
    };

    /// <inheritdoc />
    public bool Equals(PublicKey? other) => other is not null && other.Type == Type && other.RawBytes.AsSpan().SequenceEqual(RawBytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PublicKey);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        hash.AddBytes(RawBytes);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type} public key {Convert.ToHexStringLower(RawBytes.AsSpan(0, Math.Min(8, RawBytes.Length)))}…";
}
