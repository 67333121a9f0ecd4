using System.Buffers;
using Akka.IO;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// Collects a batch of outbound transport bytes in a <see cref="TransportBuffers"/> array and
/// hands it over as one <see cref="ByteString"/>: the transport gives the array back once it is
/// sent (the socket engine does; another transport lets it be collected). The connection keeps a
/// batch within <see cref="TransportBuffers.Size"/>, so nothing lands on the large-object heap;
/// should a write still not fit, the batch moves to a plain array of its own.
/// </summary>
internal sealed class OutputBuffer : IBufferWriter<byte>
{
    private byte[] _buffer = [];
    private int _written;

    /// <summary>Bytes written since the last <see cref="Take"/>.</summary>
    public int WrittenCount => _written;

    public void Advance(int count) => _written += count;

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

    /// <summary>Everything written since the last call; the next write starts a new array.</summary>
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
        var grown = _buffer.Length == 0 && needed <= TransportBuffers.Size
            ? TransportBuffers.Rent()
            : GC.AllocateUninitializedArray<byte>(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        TransportBuffers.Return(_buffer);
        _buffer = grown;
    }
}
