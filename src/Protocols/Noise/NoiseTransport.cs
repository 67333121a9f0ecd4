using System.Buffers;
using System.Buffers.Binary;

namespace Libp2p.Protocols.Noise;

/// <summary>
/// A Noise session after the handshake: each message is a 2-byte big-endian length and at most
/// 65535 bytes of ciphertext (so at most 65519 bytes of plaintext). Encrypts into and decrypts from
/// caller buffers; inbound bytes may arrive in any split, partial frames are kept.
/// </summary>
public sealed class NoiseTransport : IDisposable
{
    /// <summary>The most a frame's ciphertext may hold.</summary>
    public const int MaxFrameLength = 65535;

    /// <summary>The most plaintext one frame carries.</summary>
    public const int MaxPlaintextLength = MaxFrameLength - CipherState.TagLength;

    private readonly CipherState _send;
    private readonly CipherState _receive;
    // A frame cut short: its length prefix, and its ciphertext in a buffer rented once the length is
    // known and given back once the frame is whole, so an idle connection holds none.
    private readonly byte[] _prefix = new byte[2];
    private int _prefixLength;
    private byte[]? _partial;
    private int _partialLength;

    /// <summary>Wraps the two ciphers a completed handshake split into.</summary>
    public NoiseTransport(CipherState send, CipherState receive)
    {
        _send = send;
        _receive = receive;
    }

    /// <summary>Encrypts <paramref name="plaintext"/> as one frame.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxPlaintextLength"/> bytes.</exception>
    public void Encrypt(ReadOnlySpan<byte> plaintext, IBufferWriter<byte> output)
    {
        if (plaintext.Length > MaxPlaintextLength)
            throw new ArgumentException($"noise: {plaintext.Length} bytes do not fit one frame (at most {MaxPlaintextLength})", nameof(plaintext));
        var length = plaintext.Length + CipherState.TagLength;
        var frame = output.GetSpan(2 + length);
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)length);
        _send.EncryptWithAd([], plaintext, frame[2..]);
        output.Advance(2 + length);
    }

    /// <summary>Encrypts any amount, cut into frames of at most <see cref="MaxPlaintextLength"/> bytes.</summary>
    public void EncryptAll(ReadOnlySpan<byte> plaintext, IBufferWriter<byte> output)
    {
        do
        {
            var part = plaintext[..Math.Min(plaintext.Length, MaxPlaintextLength)];
            Encrypt(part, output);
            plaintext = plaintext[part.Length..];
        }
        while (!plaintext.IsEmpty);
    }

    /// <summary>Decrypts every whole frame in the bytes seen so far into <paramref name="plaintext"/>.</summary>
    /// <exception cref="NoiseException">A frame fails authentication, or is too short to hold a tag.</exception>
    public void Decrypt(ReadOnlySpan<byte> input, IBufferWriter<byte> plaintext)
    {
        // Finish a frame begun in an earlier call first: its length prefix, then its ciphertext.
        while (_prefixLength > 0 && !input.IsEmpty)
        {
            if (_prefixLength < 2)
            {
                _prefix[_prefixLength++] = input[0];
                input = input[1..];
                continue;
            }
            int length = BinaryPrimitives.ReadUInt16BigEndian(_prefix);
            _partial ??= ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
            var take = Math.Min(length - _partialLength, input.Length);
            input[..take].CopyTo(_partial.AsSpan(_partialLength));
            _partialLength += take;
            input = input[take..];
            if (_partialLength == length)
            {
                try
                {
                    DecryptFrame(_partial.AsSpan(0, length), plaintext);
                }
                finally
                {
                    ReturnPartial();
                }
            }
        }
        while (input.Length >= 2)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(input);
            if (input.Length < 2 + length)
                break;
            DecryptFrame(input.Slice(2, length), plaintext);
            input = input[(2 + length)..];
        }
        if (input.IsEmpty)
            return;
        // Keep what is left: the prefix apart, so the ciphertext's buffer (at most 65,535 bytes) fits the pool's 64 KiB bucket.
        _prefixLength = Math.Min(2, input.Length);
        input[.._prefixLength].CopyTo(_prefix);
        input = input[_prefixLength..];
        if (input.IsEmpty)
            return;
        _partial = ArrayPool<byte>.Shared.Rent(BinaryPrimitives.ReadUInt16BigEndian(_prefix));
        input.CopyTo(_partial);
        _partialLength = input.Length;
    }

    /// <summary>Whether part of a frame is waiting for the rest (a stream that ends now was cut mid-frame).</summary>
    public bool HasPartialFrame => _prefixLength > 0;

    /// <summary>Bytes held for a frame cut short: a pooled buffer of that frame's size, or none.</summary>
    internal int PartialBytes => _partial?.Length ?? 0;

    private void ReturnPartial()
    {
        if (_partial is not null)
            ArrayPool<byte>.Shared.Return(_partial);
        _partial = null;
        _partialLength = 0;
        _prefixLength = 0;
    }

    private void DecryptFrame(ReadOnlySpan<byte> ciphertext, IBufferWriter<byte> plaintext)
    {
        if (ciphertext.Length < CipherState.TagLength)
            throw new NoiseException($"noise: a frame of {ciphertext.Length} bytes is shorter than its tag");
        var length = ciphertext.Length - CipherState.TagLength;
        var written = _receive.DecryptWithAd([], ciphertext, plaintext.GetSpan(Math.Max(1, length)));
        plaintext.Advance(written);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ReturnPartial();
        _send.Dispose();
        _receive.Dispose();
    }
}
