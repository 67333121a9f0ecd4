using System.Buffers;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// A muxed stream as a <see cref="Stream"/>. It speaks to the connection stage directly, as the
/// stream's source and sink stages do, with no graph of its own: a read asks the stage for one
/// chunk (window goes back to the remote only then), a write waits while two are in flight, so
/// both keep the stream's backpressure, and nothing is left running once the stream is gone,
/// whether or not its reader saw the end. <see cref="Stream.ReadTimeout"/> and
/// <see cref="Stream.WriteTimeout"/> are the seed's read and write deadlines: an operation that
/// outlasts one fails with <see cref="TimeoutException"/>.
/// </summary>
public sealed class MuxedStreamAdapter : Stream, IChunkReader
{
    private readonly MuxedStream _stream;
    private readonly Lock _gate = new();
    // One pull and one wait for a write slot at a time (a Stream is not read or written
    // concurrently), each answered through a reusable value-task source: nothing is allocated per chunk.
    private readonly Reply<PullResult> _pull = new();
    private readonly Reply<SlotAnswer> _slot = new();
    private readonly ConnectionCommand.PullSource _pullCommand;
    // A pull is with the connection stage; a read waits for its answer; the answer that came while none did.
    private bool _pulling;
    private bool _reading;
    private PullResult? _arrived;
    private ITimer? _readDeadline;
    // A slot is owed to a writer; a write waits for it; it was given while none did.
    private bool _waitingForSlot;
    private bool _writing;
    private bool _slotGranted;
    private ITimer? _writeDeadline;
    private int _writesInFlight;
    private StreamSignal? _lastSignal;
    private Exception? _writeFailure;
    private bool _sourceAttached;
    private bool _sinkAttached;
    // Once the graph stages took a direction over, the adapter no longer speaks for it.
    private bool _sourceHandedOver;
    private bool _sinkHandedOver;
    // The chunk being read: a pooled array the stage handed over, given back once read.
    private byte[]? _chunk;
    private int _chunkLength;
    private int _offset;
    private bool _endOfStream;
    private bool _writeClosed;

    internal MuxedStreamAdapter(MuxedStream stream)
    {
        _stream = stream;
        _pullCommand = new ConnectionCommand.PullSource(stream.Id);
    }

    /// <inheritdoc />
    public override bool CanRead => true;
    /// <inheritdoc />
    public override bool CanWrite => true;
    /// <inheritdoc />
    public override bool CanSeek => false;
    /// <inheritdoc />
    public override bool CanTimeout => true;
    /// <inheritdoc />
    public override int ReadTimeout { get; set; } = Timeout.Infinite;
    /// <inheritdoc />
    public override int WriteTimeout { get; set; } = Timeout.Infinite;
    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();
    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_sourceHandedOver)
            throw new InvalidOperationException($"stream {_stream.Id}: its inbound bytes were handed to a graph source");
        if (buffer.IsEmpty)
        {
            // A zero-byte read waits until bytes (or the end) are there, as a socket's does: a
            // reader can wait without holding a buffer, and rent one only once it has something to read.
            if (_chunk is null && !_endOfStream)
                await NextChunkAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        while (_chunk is null)
        {
            if (_endOfStream || !await NextChunkAsync(cancellationToken).ConfigureAwait(false))
                return 0;
        }
        var count = Math.Min(buffer.Length, _chunkLength - _offset);
        _chunk.AsSpan(_offset, count).CopyTo(buffer.Span);
        _offset += count;
        if (_offset == _chunkLength)
            ReleaseChunk();
        return count;
    }

    private void ReleaseChunk()
    {
        if (_chunk is { } chunk)
            TransportBuffers.ReturnPooled(chunk);
        _chunk = null;
        _chunkLength = _offset = 0;
    }

    /// <summary>Takes the next inbound chunk; false at the end of the stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> NextChunkAsync(CancellationToken cancellationToken)
    {
        var timeout = ReadTimeout;
        var pull = Pull();
        PullResult result;
        if (pull.IsCompleted || (timeout == Timeout.Infinite && !cancellationToken.CanBeCanceled))
        {
            result = await pull.ConfigureAwait(false);
        }
        else
        {
            // One timer per adapter, re-armed per read, instead of a task, a timer and a
            // cancellation promise per read: the services read with a deadline, chunk after chunk.
            if (timeout != Timeout.Infinite)
                (_readDeadline ??= NewDeadline(static self => ((MuxedStreamAdapter)self!).EndWaitingRead(PullResult.DeadlinePassed)))
                    .Change(TimeSpan.FromMilliseconds(timeout), Timeout.InfiniteTimeSpan);
            var cancellation = cancellationToken.UnsafeRegister(static self => ((MuxedStreamAdapter)self!).EndWaitingRead(PullResult.Cancelled), this);
            try
            {
                result = await pull.ConfigureAwait(false);
            }
            finally
            {
                _readDeadline?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                cancellation.Dispose();
            }
            // A read that passed its deadline leaves its pull with the stage: the next read gets its answer.
            if (result.Signal == PullResult.DeadlinePassed)
                throw new TimeoutException($"stream {_stream.Id}: read deadline of {timeout} ms passed");
            if (result.Signal == PullResult.Cancelled)
                throw new OperationCanceledException(cancellationToken);
        }
        if (result.Buffer is { } buffer)
        {
            _chunk = buffer;
            _chunkLength = result.Length;
            _offset = 0;
            return true;
        }
        switch (result.Signal)
        {
            case StreamSignal.Failed failed:
                throw failed.Reason is IOException io ? io : new IOException($"stream {_stream.Id}: read failed: {failed.Reason.Message}", failed.Reason);
            default:
                _endOfStream = true;
                return false;
        }
    }

    /// <summary>
    /// Waits for the next chunk or signal: the answer that came while no read waited (after one
    /// passed its deadline) if there is one; else a pull, posted unless one is still with the stage.
    /// </summary>
    private ValueTask<PullResult> Pull()
    {
        ValueTask<PullResult> answer;
        bool post;
        lock (_gate)
        {
            if (_arrived is { } arrived)
            {
                _arrived = null;
                return new ValueTask<PullResult>(arrived);
            }
            if (_lastSignal is { } last)
                return new ValueTask<PullResult>(new PullResult(last));
            answer = _pull.Prepare();
            _reading = true;
            post = !_pulling;
            _pulling = true;
        }
        if (!_sourceAttached)
        {
            _sourceAttached = true;
            _stream.TakeSource();
            // A connection already gone answers the attach with a failure (MuxedConnection.Post).
            _stream.Connection.Post(new ConnectionCommand.AttachSource(_stream.Id, OnReadSignal, this));
        }
        if (post)
            _stream.Connection.Post(_pullCommand);
        return answer;
    }

    // Called by the connection stage (or the connection's end) on their own threads.
    private void OnReadSignal(StreamSignal signal)
    {
        lock (_gate)
        {
            // The end and a failure are final: every later read answers with them.
            if (signal is StreamSignal.Failed or StreamSignal.End)
                _lastSignal ??= signal;
            if (!_pulling)
                return;
            _pulling = false;
            if (!Answering())
                return;
        }
        _pull.Set(new PullResult(signal));
    }

    // Called by the connection stage on its thread, only in answer to a pull.
    void IChunkReader.OnChunk(byte[] buffer, int length)
    {
        lock (_gate)
        {
            if (!_pulling)
            {
                TransportBuffers.ReturnPooled(buffer);
                return;
            }
            _pulling = false;
            if (!Answering())
            {
                _arrived = new PullResult(buffer, length);
                return;
            }
        }
        _pull.Set(new PullResult(buffer, length));
    }

    /// <summary>Whether a read waits for the answer (under the gate); if so, it is the one answered.</summary>
    private bool Answering()
    {
        if (!_reading)
            return false;
        _reading = false;
        return true;
    }

    /// <summary>A deadline timer for this adapter, disarmed; the callback gets the adapter.</summary>
    private ITimer NewDeadline(TimerCallback passed)
    {
        // The timer's callback needs nothing of the first caller's context.
        using (ExecutionContext.SuppressFlow())
            return TimeProvider.System.CreateTimer(passed, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Ends the waiting read without an answer; its pull stays with the stage.</summary>
    private void EndWaitingRead(StreamSignal why)
    {
        lock (_gate)
        {
            if (!Answering())
                return;
        }
        _pull.Set(new PullResult(why));
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return ValueTask.CompletedTask;
        // The caller may reuse its buffer once this returns: the bytes travel in a pooled copy,
        // which the stage gives back as soon as the muxer took them (from 4 to 80 KiB it comes from
        // the transport's pool, which does not miss when, as here, arrays are rented on one
        // thread and returned on another).
        var copy = TransportBuffers.RentAtLeast(buffer.Length);
        buffer.Span.CopyTo(copy);
        return WriteAsync(copy.AsMemory(0, buffer.Length), copy, cancellationToken);
    }

    /// <summary>Writes bytes the caller hands over (they are not copied again); <paramref name="pooled"/> is their pooled array, if any.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, byte[]? pooled, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_writeClosed, this);
        if (_sinkHandedOver)
            throw new InvalidOperationException($"stream {_stream.Id}: its outbound bytes were handed to a graph sink");
        if (!_sinkAttached)
        {
            _sinkAttached = true;
            _stream.TakeSink();
            _stream.Connection.Post(new ConnectionCommand.AttachSink(_stream.Id, OnWriteSignal));
        }
        if (TakeSlot() is { } wait)
        {
            var timeout = WriteTimeout;
            if (timeout == Timeout.Infinite && !cancellationToken.CanBeCanceled)
            {
                await wait.ConfigureAwait(false);
            }
            else
            {
                // As for reads: one timer per adapter, re-armed per wait. A write that passed its
                // deadline leaves the slot it waited for owed: the next write takes it.
                if (timeout != Timeout.Infinite)
                    (_writeDeadline ??= NewDeadline(static self => ((MuxedStreamAdapter)self!).EndWaitingWrite(SlotAnswer.DeadlinePassed)))
                        .Change(TimeSpan.FromMilliseconds(timeout), Timeout.InfiniteTimeSpan);
                var cancellation = cancellationToken.UnsafeRegister(static self => ((MuxedStreamAdapter)self!).EndWaitingWrite(SlotAnswer.Cancelled), this);
                SlotAnswer answer;
                try
                {
                    answer = await wait.ConfigureAwait(false);
                }
                finally
                {
                    _writeDeadline?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                    cancellation.Dispose();
                }
                if (answer != SlotAnswer.Granted && pooled is not null)
                    TransportBuffers.ReturnPooled(pooled);
                if (answer == SlotAnswer.DeadlinePassed)
                    throw new TimeoutException($"stream {_stream.Id}: write deadline of {timeout} ms passed");
                if (answer == SlotAnswer.Cancelled)
                    throw new OperationCanceledException(cancellationToken);
            }
        }
        if (Volatile.Read(ref _writeFailure) is { } failure)
            throw failure is IOException io ? io : new IOException($"stream {_stream.Id}: write failed: {failure.Message}", failure);
        _stream.Connection.Post(new ConnectionCommand.Write(_stream.Id, bytes, pooled));
    }

    /// <summary>Takes a write slot: null when one was free, else what completes once one is.</summary>
    private ValueTask<SlotAnswer>? TakeSlot()
    {
        lock (_gate)
        {
            if (_slotGranted)
            {
                // Given back while no write waited (the one that waited had passed its deadline).
                _slotGranted = false;
                return null;
            }
            if (!_waitingForSlot && (_writeFailure is not null || _writesInFlight < MuxedStreamSink.WritesInFlight))
            {
                _writesInFlight++;
                return null;
            }
            _waitingForSlot = true;
            _writing = true;
            return _slot.Prepare();
        }
    }

    /// <summary>Ends the waiting write without a slot; the slot stays owed to the next write.</summary>
    private void EndWaitingWrite(SlotAnswer why)
    {
        lock (_gate)
        {
            if (!_writing)
                return;
            _writing = false;
        }
        _slot.Set(why);
    }

    // Called by the connection stage (or the connection's end) on their own threads.
    private void OnWriteSignal(StreamSignal signal)
    {
        lock (_gate)
        {
            switch (signal)
            {
                case StreamSignal.WriteAccepted accepted when _waitingForSlot:
                    // One slot given back goes straight to the writer waiting for one.
                    _writesInFlight -= accepted.Writes - 1;
                    break;
                case StreamSignal.WriteAccepted accepted:
                    _writesInFlight -= accepted.Writes;
                    return;
                case StreamSignal.Failed failed:
                    // Every later write finds the failure.
                    _writeFailure ??= failed.Reason;
                    if (!_waitingForSlot)
                        return;
                    break;
                default:
                    return;
            }
            _waitingForSlot = false;
            if (!_writing)
            {
                _slotGranted = true;
                return;
            }
            _writing = false;
        }
        _slot.Set(SlotAnswer.Granted);
    }

    /// <summary>How a wait for a write slot ended.</summary>
    private enum SlotAnswer
    {
        Granted,
        DeadlinePassed,
        Cancelled,
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Plain code may call the synchronous forms; they block the caller, never a dispatcher thread of ours.
    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Flush() { }

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The rest of the inbound bytes as a source, for code that negotiated a protocol through this
    /// adapter and then wants the stream's bytes in a graph: the muxer's own source stage, with
    /// the bytes read into the adapter but not returned yet in front. Reading through the adapter
    /// ends here.
    /// </summary>
    /// <exception cref="InvalidOperationException">On a second call, or while a read that passed its deadline is still outstanding.</exception>
    public Source<ByteString, NotUsed> RemainingSource()
    {
        if (_sourceHandedOver)
            throw new InvalidOperationException($"the source of stream {_stream.Id} can be taken only once");
        lock (_gate)
        {
            if (_pulling)
                throw new InvalidOperationException($"stream {_stream.Id}: a read that passed its deadline is still outstanding; go on reading through the Stream");
            if (_arrived is { Buffer: { } early } arrived)
            {
                // What answered a read that had passed its deadline: not read yet, so it goes first.
                _arrived = null;
                ReleaseChunk();
                (_chunk, _chunkLength, _offset) = (early, arrived.Length, 0);
            }
        }
        _sourceHandedOver = true;
        ByteString? unread = null;
        if (_chunk is not null)
        {
            unread = ByteString.CopyFrom(_chunk, _offset, _chunkLength - _offset);
            ReleaseChunk();
        }
        Source<ByteString, NotUsed> rest = _lastSignal switch
        {
            StreamSignal.Failed failed => Source.Failed<ByteString>(failed.Reason),
            StreamSignal.End => Source.Empty<ByteString>(),
            _ when _endOfStream => Source.Empty<ByteString>(),
            // The stage stays attached to the adapter until the source stage attaches in its place.
            _ => Source.FromGraph(new MuxedStreamSource(_stream, handedOver: _sourceAttached)),
        };
        return unread is null ? rest : Source.Single(unread).Concat(rest);
    }

    /// <summary>
    /// The outbound side as a sink, for code that negotiated a protocol through this adapter: the
    /// muxer's own sink stage. Completing it half-closes the stream, failing it resets the stream.
    /// Writing through the adapter ends here.
    /// </summary>
    /// <exception cref="InvalidOperationException">On a second call.</exception>
    public Sink<ByteString, NotUsed> RemainingSink()
    {
        if (_sinkHandedOver)
            throw new InvalidOperationException($"the sink of stream {_stream.Id} can be taken only once");
        _sinkHandedOver = true;
        if (_writeClosed)
            return Sink.Cancelled<ByteString>();
        return Sink.FromGraph(new MuxedStreamSink(_stream, handedOver: _sinkAttached));
    }

    /// <summary>Half-closes the stream: the remote reads end-of-stream, reading here goes on.</summary>
    public void CloseWrite()
    {
        if (_writeClosed || _sinkHandedOver)
            return;
        _writeClosed = true;
        // After the writes already posted: the stage half-closes once they are taken.
        _stream.Connection.Post(new ConnectionCommand.CompleteSink(_stream.Id));
    }

    /// <summary>Half-closes the write side and stops reading.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseWrite();
            if (!_endOfStream && !_sourceHandedOver)
                _stream.CloseRead();
            _readDeadline?.Dispose();
            _writeDeadline?.Dispose();
            ReleaseChunk();
            lock (_gate)
            {
                if (_arrived is { Buffer: { } early })
                    TransportBuffers.ReturnPooled(early);
                _arrived = null;
            }
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>What a pull brings: a chunk (a pooled array and its length), or the signal that ends reading.</summary>
    private readonly record struct PullResult(byte[]? Buffer, int Length, StreamSignal? Signal)
    {
        /// <summary>The read's deadline passed first (not a signal of the stage: a marker of the adapter's).</summary>
        public static readonly StreamSignal DeadlinePassed = new StreamSignal.Failed(new TimeoutException());

        /// <summary>The read's cancellation token fired first.</summary>
        public static readonly StreamSignal Cancelled = new StreamSignal.Failed(new OperationCanceledException());

        public PullResult(byte[] buffer, int length) : this(buffer, length, null) { }

        public PullResult(StreamSignal signal) : this(null, 0, signal) { }
    }

    /// <summary>A reusable answer to one wait at a time, completed from another thread.</summary>
    private sealed class Reply<T> : IValueTaskSource<T>
    {
        private ManualResetValueTaskSourceCore<T> _core = new() { RunContinuationsAsynchronously = true };

        public ValueTask<T> Prepare()
        {
            _core.Reset();
            return new ValueTask<T>(this, _core.Version);
        }

        public void Set(T value) => _core.SetResult(value);

        public T GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
