using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;

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
public sealed class MuxedStreamAdapter : Stream
{
    private readonly MuxedStream _stream;
    private readonly Lock _gate = new();
    // Writes in flight: a slot is taken per write and given back when the stage accepted it.
    private readonly SemaphoreSlim _writeSlots = new(MuxedStreamSink.WritesInFlight);
    private TaskCompletionSource<StreamSignal>? _pull;
    private Task<StreamSignal>? _pendingRead;
    private Task<bool>? _pendingSlot;
    private StreamSignal? _lastSignal;
    private Exception? _writeFailure;
    private bool _sourceAttached;
    private bool _sinkAttached;
    private ByteString _current = ByteString.Empty;
    private int _offset;
    private bool _endOfStream;
    private bool _writeClosed;

    internal MuxedStreamAdapter(MuxedStream stream) => _stream = stream;

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
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return 0;
        while (_offset >= _current.Count)
        {
            if (_endOfStream)
                return 0;
            if (await NextChunkAsync(cancellationToken).ConfigureAwait(false) is not { } next)
                return 0;
            _current = next;
            _offset = 0;
        }
        var count = Math.Min(buffer.Length, _current.Count - _offset);
        _current.ToReadOnlySpan().Slice(_offset, count).CopyTo(buffer.Span);
        _offset += count;
        return count;
    }

    /// <summary>The next inbound chunk, or null at the end of the stream.</summary>
    private async Task<ByteString?> NextChunkAsync(CancellationToken cancellationToken)
    {
        // A read that passed its deadline leaves its pull outstanding: the next read takes it over.
        _pendingRead ??= Pull();
        var signal = await WithDeadline(_pendingRead, ReadTimeout, "read", cancellationToken).ConfigureAwait(false);
        _pendingRead = null;
        switch (signal)
        {
            case StreamSignal.Data data:
                return data.Bytes;
            case StreamSignal.Failed failed:
                throw failed.Reason is IOException io ? io : new IOException($"stream {_stream.Id}: read failed: {failed.Reason.Message}", failed.Reason);
            default:
                _endOfStream = true;
                return null;
        }
    }

    private Task<StreamSignal> Pull()
    {
        TaskCompletionSource<StreamSignal> pull;
        lock (_gate)
        {
            if (_lastSignal is { } last)
                return Task.FromResult(last);
            _pull = pull = new TaskCompletionSource<StreamSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        if (!_sourceAttached)
        {
            _sourceAttached = true;
            _stream.TakeSource();
            // A connection already gone answers the attach with a failure (MuxedConnection.Post).
            _stream.Connection.Post(new ConnectionCommand.AttachSource(_stream.Id, OnReadSignal));
        }
        _stream.Connection.Post(new ConnectionCommand.PullSource(_stream.Id));
        return pull.Task;
    }

    // Called by the connection stage (or the connection's end) on their own threads.
    private void OnReadSignal(StreamSignal signal)
    {
        TaskCompletionSource<StreamSignal>? pull;
        lock (_gate)
        {
            // The end and a failure are final: every later read answers with them.
            if (signal is StreamSignal.Failed or StreamSignal.End)
                _lastSignal ??= signal;
            pull = _pull;
            _pull = null;
        }
        pull?.TrySetResult(signal);
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        buffer.IsEmpty ? ValueTask.CompletedTask : WriteAsync(ByteString.FromBytes(buffer.ToArray()), cancellationToken);

    /// <summary>Writes bytes the caller hands over (they are not copied again).</summary>
    private async ValueTask WriteAsync(ByteString bytes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_writeClosed, this);
        if (!_sinkAttached)
        {
            _sinkAttached = true;
            _stream.TakeSink();
            _stream.Connection.Post(new ConnectionCommand.AttachSink(_stream.Id, OnWriteSignal));
        }
        // A write that passed its deadline leaves its wait for a slot outstanding: the next write takes it over.
        _pendingSlot ??= _writeSlots.WaitAsync().ContinueWith(_ => true, TaskScheduler.Default);
        await WithDeadline(_pendingSlot, WriteTimeout, "write", cancellationToken).ConfigureAwait(false);
        _pendingSlot = null;
        if (Volatile.Read(ref _writeFailure) is { } failure)
        {
            _writeSlots.Release();
            throw failure is IOException io ? io : new IOException($"stream {_stream.Id}: write failed: {failure.Message}", failure);
        }
        _stream.Connection.Post(new ConnectionCommand.Write(_stream.Id, bytes));
    }

    // Called by the connection stage (or the connection's end) on their own threads.
    private void OnWriteSignal(StreamSignal signal)
    {
        switch (signal)
        {
            case StreamSignal.WriteAccepted:
                _writeSlots.Release();
                break;
            case StreamSignal.Failed failed when Interlocked.CompareExchange(ref _writeFailure, failed.Reason, null) is null:
                // Wake every writer waiting for a slot: each finds the failure.
                _writeSlots.Release(MuxedStreamSink.WritesInFlight + 1);
                break;
        }
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
    /// adapter and then wants the stream's bytes in a graph. Bytes already read are not repeated;
    /// bytes read into the adapter's buffer but not returned yet come first.
    /// </summary>
    public Source<ByteString, NotUsed> RemainingSource() =>
        Source.UnfoldAsync(0, async _ =>
        {
            if (_offset < _current.Count)
            {
                var rest = _current.Slice(_offset);
                _offset = _current.Count;
                return Akka.Util.Option<(int, ByteString)>.Create((0, rest));
            }
            if (!_endOfStream && await NextChunkAsync(CancellationToken.None).ConfigureAwait(false) is { } next)
                return Akka.Util.Option<(int, ByteString)>.Create((0, next));
            return Akka.Util.Option<(int, ByteString)>.None;
        });

    /// <summary>
    /// The outbound side as a sink, for code that negotiated a protocol through this adapter:
    /// completing it half-closes the stream, failing it resets the stream.
    /// </summary>
    public Sink<ByteString, NotUsed> RemainingSink() =>
        Flow.Create<ByteString>()
            .SelectAsync(1, async bytes =>
            {
                if (!bytes.IsEmpty)
                    await WriteAsync(bytes, CancellationToken.None).ConfigureAwait(false);
                return NotUsed.Instance;
            })
            .WatchTermination((_, done) =>
            {
                done.ContinueWith(t =>
                {
                    if (t.IsFaulted)
                        _stream.Reset();
                    else
                        CloseWrite();
                }, TaskScheduler.Default);
                return NotUsed.Instance;
            })
            .To(Sink.Ignore<NotUsed>());

    /// <summary>Half-closes the stream: the remote reads end-of-stream, reading here goes on.</summary>
    public void CloseWrite()
    {
        if (_writeClosed)
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
            if (!_endOfStream)
                _stream.CloseRead();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task<T> WithDeadline<T>(Task<T> operation, int timeoutMs, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await operation.WaitAsync(timeoutMs == Timeout.Infinite ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"stream {_stream.Id}: {what} deadline of {timeoutMs} ms passed");
        }
        catch (Exception e) when (e is not OperationCanceledException and not IOException and not TimeoutException)
        {
            throw new IOException($"stream {_stream.Id}: {what} failed: {e.Message}", e);
        }
    }
}
