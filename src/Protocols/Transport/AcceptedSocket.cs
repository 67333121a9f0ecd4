using System.Net.Sockets;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// A socket a listener accepted, until a connection stage takes it. The stage that takes it owns
/// it from then on; one that was never taken is closed when its listener stops, so a dropped
/// <see cref="InboundConnection"/> does not hold a socket open for longer than the listener lives.
/// </summary>
internal sealed class AcceptedSocket
{
    private readonly Action<AcceptedSocket> _taken;
    private Socket? _socket;

    public AcceptedSocket(Socket socket, TransportConnection addresses, Action<AcceptedSocket> taken)
    {
        _socket = socket;
        Addresses = addresses;
        _taken = taken;
    }

    /// <summary>Both ends' addresses, read when the socket was accepted.</summary>
    public TransportConnection Addresses { get; }

    /// <summary>Whether the listener closed the socket before anything took it.</summary>
    public bool Discarded { get; private set; }

    /// <summary>Hands the socket over, once: null if it was taken or discarded already.</summary>
    public Socket? Take()
    {
        var socket = Interlocked.Exchange(ref _socket, null);
        if (socket is not null)
            _taken(this);
        return socket;
    }

    /// <summary>Closes the socket unless a stage took it.</summary>
    public void Discard()
    {
        var socket = Interlocked.Exchange(ref _socket, null);
        if (socket is null)
            return;
        Discarded = true;
        socket.Dispose();
    }
}
