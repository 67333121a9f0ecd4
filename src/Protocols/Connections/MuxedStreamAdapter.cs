using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// A muxed stream as a <see cref="Stream"/>: reads pull from the stream's source through a sink
/// queue, writes go through a source queue of one element, so both keep the stream's backpressure.
/// <see cref="Stream.ReadTimeout"/> and <see cref="Stream.WriteTimeout"/> are the seed's read and
/// write deadlines: an operation that outlasts one fails with <see cref="TimeoutException"/>.
/// </summary>
public sealed class MuxedStreamAdapter : Stream
{
    private readonly MuxedStream _stream;
    private readonly ISinkQueue<ByteString> _reads;
    private readonly IKillSwitch _stopReading;
    private Task<Akka.Util.Option<ByteString>>? _pendingRead;
    private Task<IQueueOfferResult>? _pendingWrite;
    private readonly ISourceQueueWithComplete<ByteString> _writes;
    private ByteString _current = ByteString.Empty;
    private int _offset;
    private bool _endOfStream;
    private bool _writeClosed;

    internal MuxedStreamAdapter(MuxedStream stream, IMaterializer materializer)
    {
        _stream = stream;
        (_stopReading, _reads) = stream.Source
            .ViaMaterialized(KillSwitches.Single<ByteString>(), Keep.Right)
            .ToMaterialized(Sink.Queue<ByteString>(), Keep.Both)
            .Run(materializer);
        _writes = Source.Queue<ByteString>(1, OverflowStrategy.Backpressure).To(stream.Sink).Run(materializer);
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
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return 0;
        while (_offset >= _current.Count)
        {
            if (_endOfStream)
                return 0;
            // A read that passed its deadline leaves its pull outstanding: the next read takes it over.
            _pendingRead ??= _reads.PullAsync();
            var next = await WithDeadline(_pendingRead, ReadTimeout, "read", cancellationToken).ConfigureAwait(false);
            _pendingRead = null;
            if (!next.HasValue)
            {
                _endOfStream = true;
                return 0;
            }
            _current = next.Value;
            _offset = 0;
        }
        var count = Math.Min(buffer.Length, _current.Count - _offset);
        _current.ToReadOnlySpan().Slice(_offset, count).CopyTo(buffer.Span);
        _offset += count;
        return count;
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        buffer.IsEmpty ? ValueTask.CompletedTask : WriteAsync(ByteString.FromBytes(buffer.ToArray()), cancellationToken);

    /// <summary>Writes bytes the caller hands over (they are not copied again).</summary>
    private async ValueTask WriteAsync(ByteString bytes, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_writeClosed, this);
        if (_pendingWrite is not null)
        {
            // The write that passed its deadline must land before this one.
            await WithDeadline(_pendingWrite, WriteTimeout, "write", cancellationToken).ConfigureAwait(false);
            _pendingWrite = null;
        }
        // The queue keeps the element after we return: it owns its bytes (copied by the public overload).
        _pendingWrite = _writes.OfferAsync(bytes);
        var result = await WithDeadline(_pendingWrite, WriteTimeout, "write", cancellationToken).ConfigureAwait(false);
        _pendingWrite = null;
        switch (result)
        {
            case QueueOfferResult.Enqueued:
                return;
            case QueueOfferResult.Failure failure:
                throw failure.Cause is IOException io ? io : new IOException($"stream {_stream.Id}: write failed: {failure.Cause.Message}", failure.Cause);
            default:
                throw new IOException($"stream {_stream.Id}: write failed: the stream is closed");
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
            if (_endOfStream)
                return Akka.Util.Option<(int, ByteString)>.None;
            _pendingRead ??= _reads.PullAsync();
            var next = await _pendingRead.ConfigureAwait(false);
            _pendingRead = null;
            if (next.HasValue)
                return Akka.Util.Option<(int, ByteString)>.Create((0, next.Value));
            _endOfStream = true;
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
        _writes.Complete();
    }

    /// <summary>Half-closes the write side and stops reading.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseWrite();
            _stopReading.Shutdown();
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
