using System.Buffers;

namespace Libp2p.Protocols.Muxing;

/// <summary>
/// Outbound muxer frames waiting for the secure channel, each in a pooled buffer until drained.
/// Frames stay whole so the connection can put each in its own Noise message.
/// </summary>
internal sealed class FrameQueue
{
    private readonly Queue<(byte[] Buffer, int Length)> _frames = new();

    public bool IsEmpty => _frames.Count == 0;

    /// <summary>Bytes queued, for the owner's backpressure.</summary>
    public long Bytes { get; private set; }

    public void Enqueue(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        var length = header.Length + payload.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        header.CopyTo(buffer);
        payload.CopyTo(buffer.AsSpan(header.Length));
        _frames.Enqueue((buffer, length));
        Bytes += length;
    }

    public int PeekLength() => _frames.TryPeek(out var frame) ? frame.Length : -1;

    public ReadOnlySpan<byte> Peek() => _frames.TryPeek(out var frame) ? frame.Buffer.AsSpan(0, frame.Length) : [];

    public void Drop()
    {
        if (!_frames.TryDequeue(out var frame))
            return;
        Bytes -= frame.Length;
        ArrayPool<byte>.Shared.Return(frame.Buffer);
    }

    public bool TryDequeue(IBufferWriter<byte> output)
    {
        if (!_frames.TryDequeue(out var frame))
            return false;
        output.Write(frame.Buffer.AsSpan(0, frame.Length));
        Bytes -= frame.Length;
        ArrayPool<byte>.Shared.Return(frame.Buffer);
        return true;
    }

    public void DrainTo(IBufferWriter<byte> output)
    {
        while (TryDequeue(output))
        {
        }
    }
}
