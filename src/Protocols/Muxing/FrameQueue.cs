using System.Buffers;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Muxing;

/// <summary>What a queued frame is, so the session can bound what the remote makes it queue.</summary>
internal enum FrameKind : byte
{
    /// <summary>Stream data, or a frame the local side chose to send (open, close, reset, ping, go-away).</summary>
    Local,

    /// <summary>A frame sent because of what the remote sent: an ACK, a window update, a refusing reset.</summary>
    Answer,

    /// <summary>The answer to the remote's ping.</summary>
    PingAnswer,
}

/// <summary>
/// Outbound muxer frames waiting for the secure channel, each in a pooled buffer until drained.
/// Frames stay whole so the connection can put each in its own Noise message. Counts what waits
/// by kind: a remote that does not read must not make the queue grow without bound.
/// </summary>
internal sealed class FrameQueue
{
    private readonly Queue<(byte[] Buffer, int Length, FrameKind Kind)> _frames = new();
    private readonly int[] _counts = new int[3];
    private long _enqueued;
    private long _dequeued;

    public bool IsEmpty => _frames.Count == 0;

    /// <summary>Bytes queued, for the owner's backpressure.</summary>
    public long Bytes { get; private set; }

    /// <summary>Frames of <paramref name="kind"/> waiting.</summary>
    public int Count(FrameKind kind) => _counts[(int)kind];

    /// <summary>Answers and ping answers waiting: what the remote made this side queue.</summary>
    public int Answers => _counts[(int)FrameKind.Answer] + _counts[(int)FrameKind.PingAnswer];

    public void Enqueue(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, FrameKind kind = FrameKind.Local) =>
        Enqueue(header, payload, kind, out _);

    /// <summary>
    /// Queues a frame and hands out its buffer and ticket, so the frame can be rewritten in place
    /// while <see cref="IsQueued"/> says it still waits (a window update that grows instead of a second one).
    /// </summary>
    public long Enqueue(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, FrameKind kind, out byte[] buffer)
    {
        var length = header.Length + payload.Length;
        buffer = TransportBuffers.RentAtLeast(length);
        header.CopyTo(buffer);
        payload.CopyTo(buffer.AsSpan(header.Length));
        _frames.Enqueue((buffer, length, kind));
        _counts[(int)kind]++;
        Bytes += length;
        return _enqueued++;
    }

    /// <summary>Whether the frame with <paramref name="ticket"/> still waits (its buffer is still the queue's).</summary>
    public bool IsQueued(long ticket) => ticket >= _dequeued && ticket < _enqueued;

    public int PeekLength() => _frames.TryPeek(out var frame) ? frame.Length : -1;

    public ReadOnlySpan<byte> Peek() => _frames.TryPeek(out var frame) ? frame.Buffer.AsSpan(0, frame.Length) : [];

    public void Drop()
    {
        if (!_frames.TryDequeue(out var frame))
            return;
        Forget(frame);
    }

    public bool TryDequeue(IBufferWriter<byte> output)
    {
        if (!_frames.TryDequeue(out var frame))
            return false;
        output.Write(frame.Buffer.AsSpan(0, frame.Length));
        Forget(frame);
        return true;
    }

    public void DrainTo(IBufferWriter<byte> output)
    {
        while (TryDequeue(output))
        {
        }
    }

    /// <summary>Gives every queued buffer back to the pool (the session is gone).</summary>
    public void Clear()
    {
        while (_frames.TryDequeue(out var frame))
            Forget(frame);
    }

    private void Forget((byte[] Buffer, int Length, FrameKind Kind) frame)
    {
        Bytes -= frame.Length;
        _counts[(int)frame.Kind]--;
        _dequeued++;
        TransportBuffers.ReturnPooled(frame.Buffer);
    }
}
