using System.Buffers;

namespace Libp2p.Protocols.Muxing;

/// <summary>
/// What yamux and mplex sessions share: the queue of whole outbound frames, the buffer of a
/// partly received frame, and turning a malformed frame into a failed session.
/// </summary>
public abstract class MuxerSessionBase : IMuxerSession
{
    private readonly PartialInput _input;
    // Made once: a method group passed on each Receive would be a new delegate each time.
    private readonly FrameParser _parse;
    private readonly FrameSize _frameSize;

    /// <summary>Starts the shared parts; <paramref name="memory"/> is charged for partly received frames.</summary>
    private protected MuxerSessionBase(string name, IMemoryAccount? memory)
    {
        _input = new PartialInput(name, memory);
        _parse = Parse;
        _frameSize = FrameSize;
    }

    /// <summary>Bytes held for a partly received frame.</summary>
    internal int PartialBytes => _input.Held;

    /// <summary>
    /// Takes over up to <paramref name="bytes"/> of the charge the frame being parsed carried while
    /// it arrived in part, so a session that charges the frame's payload again charges only the rest.
    /// </summary>
    private protected long TakeChargedInput(long bytes) => _input.TakeHandover(bytes);

    /// <summary>Bytes of frames waiting for the secure channel.</summary>
    internal long QueuedBytes => Output.Bytes;

    private protected FrameQueue Output { get; } = new();

    /// <inheritdoc />
    public abstract string Protocol { get; }

    /// <inheritdoc />
    public bool IsClosed { get; private protected set; }

    /// <inheritdoc />
    public bool HasOutput => !Output.IsEmpty;

    /// <inheritdoc />
    public void DrainOutput(IBufferWriter<byte> output) => Output.DrainTo(output);

    /// <inheritdoc />
    public int PeekFrameLength() => Output.PeekLength();

    /// <inheritdoc />
    public bool TryDequeueFrame(IBufferWriter<byte> output) => Output.TryDequeue(output);

    /// <inheritdoc />
    public ReadOnlySpan<byte> PeekFrame() => Output.Peek();

    /// <inheritdoc />
    public void DropFrame() => Output.Drop();

    /// <inheritdoc />
    public void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
    {
        if (IsClosed)
            return;
        try
        {
            _input.Receive(input, _parse, _frameSize, events);
            if (IsClosed)
                _input.Clear();
        }
        catch (FormatException e)
        {
            _input.Clear();
            Fail(e.Message, events);
        }
    }

    /// <summary>Handles every whole frame at the start of <paramref name="data"/>; returns the bytes used. Throws <see cref="FormatException"/> on a violation.</summary>
    private protected abstract int Parse(ReadOnlySpan<byte> data, ICollection<MuxerEvent> events);

    /// <summary>The whole size of the frame that <paramref name="data"/> holds only the start of (see <see cref="Muxing.FrameSize"/>).</summary>
    private protected abstract int FrameSize(ReadOnlySpan<byte> data);

    /// <summary>Ends the session after a violation: tells the remote where the protocol can, and reports <see cref="MuxerEvent.SessionFailed"/>.</summary>
    private protected abstract void Fail(string reason, ICollection<MuxerEvent> events);

    /// <inheritdoc />
    public abstract long OpenStream();

    /// <inheritdoc />
    public virtual bool ChargesReads => false;

    /// <inheritdoc />
    public abstract int SendCapacity(long streamId);

    /// <inheritdoc />
    public abstract int Send(long streamId, ReadOnlySpan<byte> data);

    /// <inheritdoc />
    public abstract void Consumed(long streamId, int bytes);

    /// <inheritdoc />
    public abstract void CloseWrite(long streamId);

    /// <inheritdoc />
    public abstract void CloseRead(long streamId);

    /// <inheritdoc />
    public abstract void Reset(long streamId);

    /// <inheritdoc />
    public virtual bool InputPaused => false;

    /// <inheritdoc />
    public virtual void ShedLaggards(ICollection<MuxerEvent> events) { }

    /// <inheritdoc />
    public abstract bool Ping();

    /// <inheritdoc />
    public abstract void Close();

    /// <inheritdoc />
    public void Dispose()
    {
        IsClosed = true;
        _input.Clear();
        Output.Clear();
        ReleaseResources();
        GC.SuppressFinalize(this);
    }

    /// <summary>Gives back what the session reserved; called once the connection is gone.</summary>
    private protected virtual void ReleaseResources() { }
}
