namespace Libp2p.Protocols.Crypto;

/// <summary>
/// A libp2p private key (crypto.proto <c>PrivateKey</c>): signs, and knows its public key.
/// Thread-safe for signing. Dispose it to clear the secret from memory where the type allows.
/// </summary>
public abstract class PrivateKey : IDisposable
{
    /// <summary>The algorithm.</summary>
    public abstract KeyType Type { get; }

    /// <summary>The matching public key.</summary>
    public abstract PublicKey PublicKey { get; }

    /// <summary>Signs <paramref name="data"/> as the peer-ids spec says for this key type.</summary>
    public abstract byte[] Sign(ReadOnlySpan<byte> data);

    /// <summary>The <c>Data</c> field: the key in its type's encoding.</summary>
    protected abstract byte[] ExportRaw();

    /// <summary>The deterministic protobuf encoding, the format of key files.</summary>
    public byte[] ToProtobuf()
    {
        var raw = ExportRaw();
        try
        {
            return KeyProtobuf.Encode(Type, raw);
        }
        finally
        {
            Array.Clear(raw);
        }
    }

    /// <summary>Generates a new key; RSA keys get 2048 bits.</summary>
    public static PrivateKey Generate(KeyType type) => type switch
    {
        KeyType.Ed25519 => Ed25519PrivateKey.Generate(),
        KeyType.Secp256k1 => Secp256k1PrivateKey.Generate(),
        KeyType.ECDSA => EcdsaPrivateKey.Generate(),
        KeyType.RSA => RsaPrivateKey.Generate(2048),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown key type"),
    };

    /// <summary>Generates an RSA key of <paramref name="bits"/> bits (2048 to 8192).</summary>
    public static PrivateKey GenerateRsa(int bits) => RsaPrivateKey.Generate(bits);

    /// <summary>Decodes a protobuf-encoded private key (a key file's content).</summary>
    /// <exception cref="FormatException">Not a valid key of a supported type.</exception>
    public static PrivateKey FromProtobuf(ReadOnlySpan<byte> bytes)
    {
        var (type, data) = KeyProtobuf.Decode(bytes, "private key");
        try
        {
            return type switch
            {
                KeyType.Ed25519 => Ed25519PrivateKey.FromRaw(data),
                KeyType.Secp256k1 => Secp256k1PrivateKey.FromRaw(data),
                KeyType.ECDSA => EcdsaPrivateKey.FromRaw(data),
                KeyType.RSA => RsaPrivateKey.FromRaw(data),
                _ => throw new FormatException($"private key: unknown key type {(int)type}"),
            };
        }
        finally
        {
            Array.Clear(data);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the key material.</summary>
    protected virtual void Dispose(bool disposing) { }

    /// <inheritdoc />
    public override string ToString() => $"{Type} private key";
}
