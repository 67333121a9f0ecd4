using System.Net.Sockets;
using Akka.IO;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// A pooled socket operation whose completion is handed to the stage through an async callback.
/// A receive buffer is rented just before the receive (never while the connection waits for
/// data) and handed on with what was read.
/// </summary>
internal sealed class SocketOperation : SocketAsyncEventArgs
{
    private readonly Action<SocketOperation> _completed;
    private byte[]? _rented;
    private ByteString? _received;

    public SocketOperation(Action<SocketOperation> completed) : base(unsafeSuppressExecutionContextFlow: true) => _completed = completed;

    /// <summary>How many bytes the last receive asked for (0 for a zero-byte receive).</summary>
    public int Capacity { get; private set; }

    /// <summary>Prepares a receive into a fresh <see cref="TransportBuffers"/> array; <paramref name="wait"/> only waits for data, without a buffer.</summary>
    public void Rent(bool wait)
    {
        _received = null;
        if (wait)
        {
            Capacity = 0;
            SetBuffer(Memory<byte>.Empty);
            return;
        }
        _rented = TransportBuffers.Rent();
        Capacity = _rented.Length;
        SetBuffer(_rented, 0, _rented.Length);
    }

    /// <summary>
    /// After a receive: what was read becomes a ByteString over the array itself, which the
    /// connection stage gives back once it decrypted it; an empty or failed receive gives it back now.
    /// </summary>
    public void Settle()
    {
        if (_rented is not { } buffer)
            return;
        _rented = null;
        if (SocketError == SocketError.Success && BytesTransferred > 0)
        {
            _received = ByteString.FromBytes(buffer, 0, BytesTransferred);
            return;
        }
        // The operation may still point at the array, but only the next Rent starts another one.
        TransportBuffers.Return(buffer);
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
