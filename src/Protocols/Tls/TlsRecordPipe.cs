using System.Buffers;

namespace Libp2p.Protocols.Tls;

/// <summary>
/// The ciphertext side of an <see cref="System.Net.Security.SslStream"/>: a <see cref="Stream"/>
/// whose reads take what the owner fed in (from an Akka.Streams stage: a TCP or WebSocket
/// connection's bytes) and whose writes go back to the owner. A read waiting for bytes is answered
/// straight from the next feed, so inbound bytes are copied once, into the reader's buffer, unless
/// no read is waiting; writes go straight into the owner's output when the owner's own thread
/// writes (encrypting application data) and are queued for it otherwise (the handshake, alerts).
/// </summary>
internal sealed class TlsRecordPipe : Stream
{
    private const int CaptureLimit = 5 + 16384;

    private readonly object _gate = new();
    private readonly Action _wake;
    private readonly Queue<(byte[] Buffer, int Length)> _inbound = new();
    private int _headOffset; // how much of the queue's head TLS has read already
    private int _inboundBytes;
    private TaskCompletionSource<int>? _pendingRead;
    private Memory<byte> _pendingBuffer;
    private bool _inputEnded;
    private bool _disposed;
    private byte[] _outbound = [];
    private int _outboundLength;
    private IBufferWriter<byte>? _direct;
    private int _directThread;
    private byte[]? _capture;
    private int _captured;

    /// <param name="wake">Called (on any thread) when ciphertext was queued for the owner.</param>
    /// <param name="captureFirstRecord">Keep the first bytes read, so a server can look at the ClientHello.</param>
    public TlsRecordPipe(Action wake, bool captureFirstRecord)
    {
        _wake = wake;
        if (captureFirstRecord)
            _capture = ArrayPool<byte>.Shared.Rent(CaptureLimit);
    }

    /// <summary>Inbound bytes not yet read by TLS.</summary>
    public int InboundBytes
    {
        get
        {
            lock (_gate)
                return _inboundBytes;
        }
    }

    /// <summary>Whether ciphertext waits for the owner.</summary>
    public bool HasOutput
    {
        get
        {
            lock (_gate)
                return _outboundLength > 0;
        }
    }

    /// <summary>The first bytes TLS read (the ClientHello on a server); empty unless captured.</summary>
    public ReadOnlySpan<byte> Captured => _capture is null ? [] : _capture.AsSpan(0, _captured);

    /// <summary>Stops capturing and gives the capture buffer back.</summary>
    public void ReleaseCapture()
    {
        lock (_gate)
        {
            if (_capture is not null)
                ArrayPool<byte>.Shared.Return(_capture);
            _capture = null;
            _captured = 0;
        }
    }

    /// <summary>Hands transport bytes to TLS: into a waiting read, or queued for the next one.</summary>
    public void Feed(ReadOnlySpan<byte> ciphertext)
    {
        TaskCompletionSource<int>? answered = null;
        var count = 0;
        lock (_gate)
        {
            if (_disposed || _inputEnded || ciphertext.IsEmpty)
                return;
            if (_pendingRead is not null)
            {
                count = Math.Min(ciphertext.Length, _pendingBuffer.Length);
                ciphertext[..count].CopyTo(_pendingBuffer.Span);
                Capture(ciphertext[..count]);
                ciphertext = ciphertext[count..];
                answered = _pendingRead;
                _pendingRead = null;
                _pendingBuffer = default;
            }
            if (!ciphertext.IsEmpty)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ciphertext.Length);
                ciphertext.CopyTo(buffer);
                _inbound.Enqueue((buffer, ciphertext.Length));
                _inboundBytes += ciphertext.Length;
            }
        }
        answered?.TrySetResult(count);
    }

    /// <summary>The transport's input ended: TLS reads end-of-stream once the queue is read.</summary>
    public void EndInput()
    {
        TaskCompletionSource<int>? answered;
        lock (_gate)
        {
            _inputEnded = true;
            answered = _pendingRead;
            _pendingRead = null;
        }
        answered?.TrySetResult(0);
    }

    /// <summary>Moves the queued ciphertext into <paramref name="output"/>.</summary>
    public void Drain(IBufferWriter<byte> output)
    {
        lock (_gate)
        {
            if (_outboundLength == 0)
                return;
            output.Write(_outbound.AsSpan(0, _outboundLength));
            ArrayPool<byte>.Shared.Return(_outbound);
            _outbound = [];
            _outboundLength = 0;
        }
    }

    /// <summary>
    /// Sends what TLS writes on this thread straight into <paramref name="output"/> until the
    /// returned scope ends: encrypted records skip the queue.
    /// </summary>
    public DirectWrites WriteDirectlyTo(IBufferWriter<byte> output)
    {
        lock (_gate)
        {
            // Whatever was queued before goes first, so the records stay in order.
            if (_outboundLength > 0)
            {
                output.Write(_outbound.AsSpan(0, _outboundLength));
                ArrayPool<byte>.Shared.Return(_outbound);
                _outbound = [];
                _outboundLength = 0;
            }
            _direct = output;
            _directThread = Environment.CurrentManagedThreadId;
        }
        return new DirectWrites(this);
    }

    /// <summary>Ends <see cref="WriteDirectlyTo"/>.</summary>
    public readonly struct DirectWrites(TlsRecordPipe pipe) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose()
        {
            lock (pipe._gate)
                pipe._direct = null;
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException("a TLS record pipe has no length");

    public override long Position
    {
        get => throw new NotSupportedException("a TLS record pipe has no position");
        set => throw new NotSupportedException("a TLS record pipe has no position");
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return ValueTask.FromResult(0);
        lock (_gate)
        {
            if (_disposed)
                return ValueTask.FromResult(0);
            if (_inboundBytes > 0)
                return ValueTask.FromResult(TakeQueued(buffer.Span));
            if (_inputEnded)
                return ValueTask.FromResult(0);
            if (_pendingRead is not null)
                return ValueTask.FromException<int>(new InvalidOperationException("tls: two reads at once on the record pipe"));
            // Asynchronous continuations: TLS never decrypts on the thread that fed the bytes (a stage's).
            _pendingRead = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingBuffer = buffer;
            return new ValueTask<int>(_pendingRead.Task);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Blocking until the owner feeds bytes would hold a thread: the pipe is read asynchronously only.
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("a TLS record pipe is read asynchronously only");

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        bool queued;
        lock (_gate)
        {
            if (_disposed)
                throw new ObjectDisposedException(nameof(TlsRecordPipe), "the connection is closed");
            if (_direct is not null && _directThread == Environment.CurrentManagedThreadId)
            {
                _direct.Write(buffer);
                return;
            }
            if (_outboundLength + buffer.Length > _outbound.Length)
            {
                var grown = ArrayPool<byte>.Shared.Rent(Math.Max(4096, _outboundLength + buffer.Length));
                _outbound.AsSpan(0, _outboundLength).CopyTo(grown);
                if (_outbound.Length > 0)
                    ArrayPool<byte>.Shared.Return(_outbound);
                _outbound = grown;
            }
            buffer.CopyTo(_outbound.AsSpan(_outboundLength));
            _outboundLength += buffer.Length;
            queued = true;
        }
        if (queued)
            _wake();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a TLS record pipe cannot seek");

    public override void SetLength(long value) => throw new NotSupportedException("a TLS record pipe has no length");

    protected override void Dispose(bool disposing)
    {
        TaskCompletionSource<int>? answered;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            answered = _pendingRead;
            _pendingRead = null;
            while (_inbound.TryDequeue(out var segment))
                ArrayPool<byte>.Shared.Return(segment.Buffer);
            _inboundBytes = 0;
            _headOffset = 0;
            if (_outbound.Length > 0)
                ArrayPool<byte>.Shared.Return(_outbound);
            _outbound = [];
            _outboundLength = 0;
            if (_capture is not null)
                ArrayPool<byte>.Shared.Return(_capture);
            _capture = null;
        }
        answered?.TrySetResult(0);
        base.Dispose(disposing);
    }

    private int TakeQueued(Span<byte> into)
    {
        var total = 0;
        while (!into.IsEmpty && _inbound.TryPeek(out var segment))
        {
            var take = Math.Min(into.Length, segment.Length - _headOffset);
            var bytes = segment.Buffer.AsSpan(_headOffset, take);
            bytes.CopyTo(into);
            Capture(bytes);
            into = into[take..];
            total += take;
            _inboundBytes -= take;
            _headOffset += take;
            if (_headOffset == segment.Length)
            {
                _inbound.Dequeue();
                ArrayPool<byte>.Shared.Return(segment.Buffer);
                _headOffset = 0;
            }
        }
        return total;
    }

    private void Capture(ReadOnlySpan<byte> bytes)
    {
        if (_capture is null || _captured >= CaptureLimit)
            return;
        var take = Math.Min(bytes.Length, CaptureLimit - _captured);
        bytes[..take].CopyTo(_capture.AsSpan(_captured));
        _captured += take;
    }
}
