using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Libp2p.Protocols.Noise;

/// <summary>
/// The Noise CipherState for ChaChaPoly: a key and a 64-bit nonce, ChaCha20-Poly1305 from the
/// platform (OpenSSL on Linux, far faster than a managed cipher). Encrypts and decrypts in place
/// into caller buffers; no allocation per message.
/// </summary>
public sealed class CipherState : IDisposable
{
    /// <summary>The authentication tag's length.</summary>
    public const int TagLength = 16;

    private ChaCha20Poly1305? _aead;
    private ulong _nonce;

    /// <summary>Whether a key is set (before that, Noise passes data through unencrypted).</summary>
    public bool HasKey => _aead is not null;

    /// <summary>The next nonce; exposed for tests of exhaustion.</summary>
    public ulong Nonce
    {
        get => _nonce;
        internal set => _nonce = value;
    }

    /// <summary>Sets the key and resets the nonce.</summary>
    public void InitializeKey(ReadOnlySpan<byte> key)
    {
        _aead?.Dispose();
        _aead = new ChaCha20Poly1305(key);
        _nonce = 0;
    }

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="destination"/> (plaintext length + 16).</summary>
    /// <returns>Bytes written.</returns>
    public int EncryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (_aead is null)
        {
            plaintext.CopyTo(destination);
            return plaintext.Length;
        }
        Span<byte> nonce = stackalloc byte[12];
        NextNonce(nonce);
        _aead.Encrypt(nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagLength), ad);
        return plaintext.Length + TagLength;
    }

    /// <summary>Decrypts <paramref name="ciphertext"/> (with its tag) into <paramref name="destination"/>.</summary>
    /// <returns>Bytes written.</returns>
    /// <exception cref="NoiseException">The tag does not authenticate, or the message is shorter than a tag.</exception>
    public int DecryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (_aead is null)
        {
            ciphertext.CopyTo(destination);
            return ciphertext.Length;
        }
        if (ciphertext.Length < TagLength)
            throw new NoiseException($"noise: a message of {ciphertext.Length} bytes is shorter than its tag");
        Span<byte> nonce = stackalloc byte[12];
        NextNonce(nonce);
        var length = ciphertext.Length - TagLength;
        try
        {
            _aead.Decrypt(nonce, ciphertext[..length], ciphertext[length..], destination[..length], ad);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new NoiseException("noise: a message failed authentication (tampered, or keys differ)", e);
        }
        return length;
    }

    private void NextNonce(Span<byte> nonce)
    {
        // 2^64-1 is reserved by the Noise spec; reaching it means the session must end.
        if (_nonce == ulong.MaxValue)
            throw new NoiseException("noise: the nonce is exhausted; the session must be closed");
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], _nonce++);
    }

    /// <inheritdoc />
    public void Dispose() => _aead?.Dispose();
}

/// <summary>A Noise handshake or transport failure; the message says what failed.</summary>
public sealed class NoiseException : Exception
{
    /// <summary>Creates the exception with the reason text.</summary>
    public NoiseException(string message) : base(message) { }

    /// <summary>Creates the exception with the reason text and its cause.</summary>
    public NoiseException(string message, Exception inner) : base(message, inner) { }
}
