using System.Buffers;
using System.Buffers.Binary;
using Libp2p.Protocols.Transport;

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
        while (!input.IsEmpty)
            input = input[DecryptNext(input, plaintext)..];
    }

    /// <summary>
    /// Takes bytes from <paramref name="input"/> until one frame is decrypted into
    /// <paramref name="plaintext"/> (at most <see cref="MaxPlaintextLength"/> bytes) or the input
    /// is used up, keeping what begins a frame cut short; returns the bytes taken. A reader that
    /// hands on each frame's plaintext before the next needs a buffer of one frame, however much
    /// arrives at once.
    /// </summary>
    /// <exception cref="NoiseException">A frame fails authentication, or is too short to hold a tag.</exception>
    public int DecryptNext(ReadOnlySpan<byte> input, IBufferWriter<byte> plaintext)
    {
        var taken = 0;
        // Finish a frame begun in an earlier call first: its length prefix, then its ciphertext.
        while (_prefixLength > 0 && taken < input.Length)
        {
            if (_prefixLength < 2)
            {
                _prefix[_prefixLength++] = input[taken++];
                continue;
            }
            int length = BinaryPrimitives.ReadUInt16BigEndian(_prefix);
            _partial ??= TransportBuffers.RentAtLeast(Math.Max(1, length));
            var take = Math.Min(length - _partialLength, input.Length - taken);
            input.Slice(taken, take).CopyTo(_partial.AsSpan(_partialLength));
            _partialLength += take;
            taken += take;
            if (_partialLength < length)
                return taken;
            try
            {
                DecryptFrame(_partial.AsSpan(0, length), plaintext);
            }
            finally
            {
                ReturnPartial();
            }
            return taken;
        }
        var rest = input[taken..];
        if (rest.Length >= 2 && BinaryPrimitives.ReadUInt16BigEndian(rest) is var whole && rest.Length >= 2 + whole)
        {
            DecryptFrame(rest.Slice(2, whole), plaintext);
            return taken + 2 + whole;
        }
        if (rest.IsEmpty)
            return taken;
        // Keep what is left: the prefix apart, so the ciphertext's buffer (at most 65,535 bytes) is one pooled array.
        _prefixLength = Math.Min(2, rest.Length);
        rest[.._prefixLength].CopyTo(_prefix);
        rest = rest[_prefixLength..];
        if (!rest.IsEmpty)
        {
            _partial = TransportBuffers.RentAtLeast(BinaryPrimitives.ReadUInt16BigEndian(_prefix));
            rest.CopyTo(_partial);
            _partialLength = rest.Length;
        }
        return input.Length;
    }

    /// <summary>Whether part of a frame is waiting for the rest (a stream that ends now was cut mid-frame).</summary>
    public bool HasPartialFrame => _prefixLength > 0;

    /// <summary>Bytes held for a frame cut short: a pooled buffer of that frame's size, or none.</summary>
    internal int PartialBytes => _partial?.Length ?? 0;

    private void ReturnPartial()
    {
        if (_partial is not null)
            TransportBuffers.ReturnPooled(_partial);
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
