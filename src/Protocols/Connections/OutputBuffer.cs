using System.Buffers;
using Akka.IO;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// Collects a batch of outbound transport bytes and hands it over as one <see cref="ByteString"/>.
/// Each batch gets a fresh array: a ByteString may outlive the stage (the TCP stage holds it until
/// written), so the array is never pooled.
/// </summary>
internal sealed class OutputBuffer : IBufferWriter<byte>
{
    // Room for a full Noise message (65,537 bytes) without growing; still under the 85,000-byte LOH threshold.
    private const int MinimumSize = 66 * 1024;
    private byte[] _buffer = [];
    private int _written;

    public void Advance(int count) => _written += count;

    /// <summary>Bytes written and not yet taken.</summary>
    public int WrittenCount => _written;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Everything written since the last call; the buffer starts afresh.</summary>
    public ByteString Take()
    {
        var bytes = ByteString.FromBytes(_buffer, 0, _written);
        _buffer = [];
        _written = 0;
        return bytes;
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
            return;
        var grown = new byte[Math.Max(needed, Math.Max(MinimumSize, _buffer.Length * 2))];
        _buffer.AsSpan(0, _written).CopyTo(grown);
        _buffer = grown;
    }
}
