using System.Buffers;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// A buffer writer over an array rented from the shared pool only while something is written:
/// <see cref="Clear"/> gives it back, so an idle connection holds no scratch buffer.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>
{
    private const int MinimumSize = 4096;
    private byte[] _buffer = [];
    private int _written;

    /// <summary>Bytes written since the last <see cref="Clear"/>.</summary>
    public int WrittenCount => _written;

    /// <summary>What was written.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>The rented array's size: what this writer holds now.</summary>
    public int Capacity => _buffer.Length;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_written + count > _buffer.Length)
            throw new InvalidOperationException("advanced past the buffer");
        _written += count;
    }

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

    /// <summary>Forgets what was written, keeping the array for the next write.</summary>
    public void ResetWrittenCount() => _written = 0;

    /// <summary>Forgets what was written and returns the array to the pool.</summary>
    public void Clear()
    {
        _written = 0;
        if (_buffer.Length == 0)
            return;
        TransportBuffers.ReturnPooled(_buffer);
        _buffer = [];
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
            return;
        var grown = TransportBuffers.RentAtLeast(Math.Max(needed, Math.Max(MinimumSize, _buffer.Length * 2)));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        if (_buffer.Length > 0)
            TransportBuffers.ReturnPooled(_buffer);
        _buffer = grown;
    }
}
