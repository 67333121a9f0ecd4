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

    /// <summary>Bytes a receive reads at most when the socket said it was readable but counted nothing waiting.</summary>
    public const int ProbeSize = 512;

    /// <summary>How many bytes the last receive asked for (0 for a zero-byte receive).</summary>
    public int Capacity { get; private set; }

    /// <summary>Prepares the next receive into the buffer <paramref name="kind"/> says.</summary>
    public void Rent(ReceiveBuffer kind)
    {
        _received = null;
        switch (kind)
        {
            case ReceiveBuffer.None:
                Capacity = 0;
                SetBuffer(Memory<byte>.Empty);
                return;
            case ReceiveBuffer.Probe:
                // Not the pool's: whoever is handed the bytes keeps the array as long as it likes.
                _rented = GC.AllocateUninitializedArray<byte>(ProbeSize);
                break;
            default:
                _rented = TransportBuffers.Rent();
                break;
        }
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
        // The operation may still point at the array, but only the next Rent starts another one
        // (a probe's array is not the pool's, and Return leaves it alone).
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

/// <summary>What a socket's next receive reads into.</summary>
internal enum ReceiveBuffer
{
    /// <summary>Nothing: a zero-byte receive that only waits until the socket is readable.</summary>
    None,

    /// <summary>A small array of its own (<see cref="SocketOperation.ProbeSize"/>), for a wake that may have been stale.</summary>
    Probe,

    /// <summary>An 80 KiB <see cref="TransportBuffers"/> array, when bytes are known to be waiting.</summary>
    Pooled,
}
