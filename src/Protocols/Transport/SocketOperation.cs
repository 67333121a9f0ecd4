using System.Buffers;
using System.Net.Sockets;
using Akka.IO;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// A pooled socket operation whose completion is handed to the stage through an async callback.
/// A receive buffer is rented just before the receive and returned as soon as it completes, on
/// whichever thread completes it, so the stage never holds a pooled array.
/// </summary>
internal sealed class SocketOperation : SocketAsyncEventArgs
{
    private readonly Action<SocketOperation> _completed;
    private byte[]? _rented;
    private ByteString? _received;

    public SocketOperation(Action<SocketOperation> completed) : base(unsafeSuppressExecutionContextFlow: true) => _completed = completed;

    /// <summary>How many bytes the last receive asked for (0 for a zero-byte receive).</summary>
    public int Capacity { get; private set; }

    /// <summary>Prepares a receive of <paramref name="size"/> bytes; 0 waits for data without a buffer.</summary>
    public void Rent(int size)
    {
        _received = null;
        if (size == 0)
        {
            Capacity = 0;
            SetBuffer(Memory<byte>.Empty);
            return;
        }
        _rented = ArrayPool<byte>.Shared.Rent(size);
        Capacity = _rented.Length;
        SetBuffer(_rented, 0, _rented.Length);
    }

    /// <summary>After a receive: copies what was read out of the rented buffer and returns the buffer.</summary>
    public void Settle()
    {
        if (_rented is not { } buffer)
            return;
        _rented = null;
        if (SocketError == SocketError.Success && BytesTransferred > 0)
            _received = ByteString.CopyFrom(buffer, 0, BytesTransferred);
        // The operation may still point at the array, but only the next Rent starts another one.
        ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>The bytes the last receive read, or null at the end of the stream (or after a zero-byte receive).</summary>
    public ByteString? TakeReceived()
    {
        var received = _received;
        _received = null;
        return received;
    }

    /// <inheritdoc />
    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        Settle();
        _completed(this);
    }
}
