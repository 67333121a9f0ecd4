using System.Threading.Channels;

namespace Libp2p.Protocols.Tests.Multistream;

/// <summary>
/// One end of an in-memory byte pipe pair: what one end writes, the other reads, in the chunks
/// written. Disposing an end is end-of-stream for the other's reads. It counts the bytes read, so a
/// test can tell whether a reader took more than it needed.
/// </summary>
internal sealed class DuplexStream : Stream
{
    private readonly Channel<byte[]> _incoming;
    private readonly Channel<byte[]> _outgoing;
    private ReadOnlyMemory<byte> _current;

    private DuplexStream(Channel<byte[]> incoming, Channel<byte[]> outgoing)
    {
        _incoming = incoming;
        _outgoing = outgoing;
    }

    /// <summary>Two connected ends.</summary>
    public static (DuplexStream A, DuplexStream B) CreatePair()
    {
        var ab = Channel.CreateUnbounded<byte[]>();
        var ba = Channel.CreateUnbounded<byte[]>();
        return (new DuplexStream(ba, ab), new DuplexStream(ab, ba));
    }

    /// <summary>Bytes handed out by reads so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>The writes made at this end, as the other end receives them.</summary>
    public List<byte[]> Writes { get; } = [];

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current.IsEmpty)
        {
            if (!await _incoming.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                return 0;
            if (_incoming.Reader.TryRead(out var chunk))
                _current = chunk;
        }
        var count = Math.Min(buffer.Length, _current.Length);
        _current[..count].CopyTo(buffer);
        _current = _current[count..];
        BytesRead += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var copy = buffer.ToArray();
        Writes.Add(copy);
        if (!_outgoing.Writer.TryWrite(copy))
            throw new IOException("the pipe is closed");
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _outgoing.Writer.TryComplete();
        base.Dispose(disposing);
    }
}
