using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Libp2p.Protocols.Noise;

/// <summary>
/// The Noise handshake pattern XX for <c>Noise_XX_25519_ChaChaPoly_SHA256</c>: three messages,
/// <c>→ e</c>, <c>← e, ee, s, es</c>, <c>→ s, se</c>. Framework-level and payload-agnostic, so it
/// can be checked against the cacophony test vectors; the libp2p rules live in
/// <see cref="NoiseHandshake"/>.
/// </summary>
public sealed class XxHandshakeState : IDisposable
{
    /// <summary>The protocol name, mixed into the handshake hash.</summary>
    public const string ProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";

    /// <summary>An X25519 key's length.</summary>
    public const int KeyLength = 32;

    private readonly SymmetricState _state = new(ProtocolName);
    private readonly byte[] _s;
    private readonly byte[] _sPublic = new byte[KeyLength];
    private readonly byte[] _e;
    private readonly byte[] _ePublic = new byte[KeyLength];
    private readonly byte[] _re = new byte[KeyLength];
    private readonly byte[] _rs = new byte[KeyLength];
    private int _message;

    /// <summary>Starts a handshake.</summary>
    /// <param name="initiator">Whether this side sends the first message.</param>
    /// <param name="staticPrivateKey">This side's static X25519 private key.</param>
    /// <param name="prologue">Data both sides must agree on (libp2p uses none).</param>
    /// <param name="ephemeralPrivateKey">A fixed ephemeral key, for test vectors only; random otherwise.</param>
    public XxHandshakeState(bool initiator, ReadOnlySpan<byte> staticPrivateKey, ReadOnlySpan<byte> prologue = default, ReadOnlySpan<byte> ephemeralPrivateKey = default)
    {
        IsInitiator = initiator;
        _s = staticPrivateKey.ToArray();
        X25519.GeneratePublicKey(_s, 0, _sPublic, 0);
        _e = ephemeralPrivateKey.IsEmpty ? GeneratePrivateKey() : ephemeralPrivateKey.ToArray();
        X25519.GeneratePublicKey(_e, 0, _ePublic, 0);
        _state.MixHash(prologue);
    }

    /// <summary>Whether this side sent the first message.</summary>
    public bool IsInitiator { get; }

    /// <summary>This side's static public key.</summary>
    public ReadOnlySpan<byte> LocalStaticPublicKey => _sPublic;

    /// <summary>The remote's static public key, once its message carrying it was read.</summary>
    public ReadOnlySpan<byte> RemoteStaticPublicKey => _rs;

    /// <summary>The handshake hash (channel binding), final once the handshake is complete.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _state.HandshakeHash;

    /// <summary>Whether all three messages were written or read.</summary>
    public bool IsComplete => _message == 3;

    /// <summary>Whether the next message is this side's to write.</summary>
    public bool IsMyTurn => (_message % 2 == 0) == IsInitiator;

    /// <summary>A fresh X25519 private key.</summary>
    public static byte[] GeneratePrivateKey()
    {
        var key = new byte[KeyLength];
        RandomNumberGenerator.Fill(key);
        return key;
    }

    /// <summary>The longest message this side writes for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int MaxMessageLength(int payloadLength) => 2 * KeyLength + 2 * CipherState.TagLength + payloadLength;

    /// <summary>Writes the next handshake message with <paramref name="payload"/>; returns its length.</summary>
    public int WriteMessage(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (!IsMyTurn || IsComplete)
            throw new InvalidOperationException($"noise: message {_message + 1} is not this side's to write");
        var offset = 0;
        switch (_message)
        {
            case 0: // → e
                offset += WriteEphemeral(destination);
                break;
            case 1: // ← e, ee, s, es
                offset += WriteEphemeral(destination);
                _state.MixKey(Dh(_e, _re));
                offset += _state.EncryptAndHash(_sPublic, destination[offset..]);
                _state.MixKey(Dh(_s, _re));
                break;
            case 2: // → s, se
                offset += _state.EncryptAndHash(_sPublic, destination);
                _state.MixKey(Dh(_s, _re));
                break;
        }
        offset += _state.EncryptAndHash(payload, destination[offset..]);
        _message++;
        return offset;
    }

    /// <summary>Reads the remote's next handshake message; returns the payload length written to <paramref name="payload"/>.</summary>
    /// <exception cref="NoiseException">The message is too short or fails authentication.</exception>
    public int ReadMessage(ReadOnlySpan<byte> message, Span<byte> payload)
    {
        if (IsMyTurn || IsComplete)
            throw new NoiseException($"noise: received message {_message + 1} out of turn");
        var offset = 0;
        switch (_message)
        {
            case 0: // → e
                offset += ReadEphemeral(message);
                break;
            case 1: // ← e, ee, s, es
                offset += ReadEphemeral(message);
                _state.MixKey(Dh(_e, _re));
                offset += ReadStatic(message[offset..]);
                _state.MixKey(Dh(_e, _rs));
                break;
            case 2: // → s, se
                offset += ReadStatic(message);
                _state.MixKey(Dh(_e, _rs));
                break;
        }
        var written = _state.DecryptAndHash(message[offset..], payload);
        _message++;
        return written;
    }

    /// <summary>The transport ciphers once complete: (send, receive) for this side.</summary>
    public (CipherState Send, CipherState Receive) Split()
    {
        if (!IsComplete)
            throw new InvalidOperationException("noise: the handshake is not complete");
        var (first, second) = _state.Split();
        return IsInitiator ? (first, second) : (second, first);
    }

    private int WriteEphemeral(Span<byte> destination)
    {
        _ePublic.CopyTo(destination);
        _state.MixHash(_ePublic);
        return KeyLength;
    }

    private int ReadEphemeral(ReadOnlySpan<byte> message)
    {
        if (message.Length < KeyLength)
            throw new NoiseException($"noise: message {_message + 1} is {message.Length} bytes, too short for an ephemeral key");
        message[..KeyLength].CopyTo(_re);
        _state.MixHash(_re);
        return KeyLength;
    }

    private int ReadStatic(ReadOnlySpan<byte> message)
    {
        var length = KeyLength + (_state.Cipher.HasKey ? CipherState.TagLength : 0);
        if (message.Length < length)
            throw new NoiseException($"noise: message {_message + 1} is too short for a static key");
        _state.DecryptAndHash(message[..length], _rs);
        return length;
    }

    private static byte[] Dh(byte[] privateKey, byte[] publicKey)
    {
        var shared = new byte[KeyLength];
        // An all-zero result means a low-order remote point: refuse it, as libp2p's implementations do.
        if (!X25519.CalculateAgreement(privateKey, 0, publicKey, 0, shared, 0))
            throw new NoiseException("noise: the remote key is a low-order point");
        return shared;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_s);
        CryptographicOperations.ZeroMemory(_e);
        _state.Dispose();
    }
}
