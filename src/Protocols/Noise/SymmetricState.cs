using System.Security.Cryptography;
using System.Text;

namespace Libp2p.Protocols.Noise;

/// <summary>The Noise SymmetricState with SHA-256: the chaining key, the handshake hash and a cipher.</summary>
internal sealed class SymmetricState : IDisposable
{
    public const int HashLength = 32;

    private readonly byte[] _ck = new byte[HashLength];
    private readonly byte[] _h = new byte[HashLength];

    public SymmetricState(string protocolName)
    {
        var name = System.Text.Encoding.ASCII.GetBytes(protocolName);
        if (name.Length <= HashLength)
            name.CopyTo(_h, 0);
        else
            SHA256.HashData(name, _h);
        _h.CopyTo(_ck, 0);
    }

    public CipherState Cipher { get; } = new();

    public ReadOnlySpan<byte> HandshakeHash => _h;

    public void MixKey(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> tempKey = stackalloc byte[HashLength];
        Hkdf2(_ck, inputKeyMaterial, _ck, tempKey);
        Cipher.InitializeKey(tempKey);
        CryptographicOperations.ZeroMemory(tempKey);
    }

    public void MixHash(ReadOnlySpan<byte> data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(_h);
        hash.AppendData(data);
        hash.GetHashAndReset(_h);
    }

    /// <summary>Encrypts (once a key is set) and mixes the ciphertext into the hash; returns bytes written.</summary>
    public int EncryptAndHash(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var written = Cipher.EncryptWithAd(_h, plaintext, destination);
        MixHash(destination[..written]);
        return written;
    }

    /// <summary>Decrypts (once a key is set) and mixes the ciphertext into the hash; returns bytes written.</summary>
    public int DecryptAndHash(ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        Span<byte> h = stackalloc byte[HashLength];
        _h.CopyTo(h);
        var written = Cipher.DecryptWithAd(h, ciphertext, destination);
        MixHash(ciphertext);
        return written;
    }

    /// <summary>The two transport ciphers: the initiator sends with the first.</summary>
    public (CipherState First, CipherState Second) Split()
    {
        Span<byte> k1 = stackalloc byte[HashLength];
        Span<byte> k2 = stackalloc byte[HashLength];
        Hkdf2(_ck, [], k1, k2);
        var first = new CipherState();
        var second = new CipherState();
        first.InitializeKey(k1);
        second.InitializeKey(k2);
        CryptographicOperations.ZeroMemory(k1);
        CryptographicOperations.ZeroMemory(k2);
        return (first, second);
    }

    /// <summary>Noise's HKDF with two outputs (HMAC-SHA256).</summary>
    private static void Hkdf2(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> inputKeyMaterial, Span<byte> output1, Span<byte> output2)
    {
        Span<byte> tempKey = stackalloc byte[HashLength];
        HMACSHA256.HashData(chainingKey, inputKeyMaterial, tempKey);
        Span<byte> block = stackalloc byte[HashLength + 1];
        block[0] = 1;
        HMACSHA256.HashData(tempKey, block[..1], block[..HashLength]);
        block[..HashLength].CopyTo(output1);
        block[HashLength] = 2;
        HMACSHA256.HashData(tempKey, block, output2);
        CryptographicOperations.ZeroMemory(tempKey);
    }

    public void Dispose() => Cipher.Dispose();
}
