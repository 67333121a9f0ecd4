using System.Net;
using System.Net.Sockets;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// The TCP ports one node listens on, so its dials leave from them (go-libp2p's reuseport
/// transport). A NAT then maps the node's outgoing connections to the port it listens on, so the
/// address peers observe is one they can reach it at; and in a hole punch (DCUtR) the SYN leaves
/// from the port the peer saw and dials. Both the listener and the dialing socket set
/// SO_REUSEADDR and SO_REUSEPORT, which the kernel requires of every socket sharing the port.
/// </summary>
/// <remarks>One per node: a registry shared by two nodes in one process would have one dial from the other's port.</remarks>
public sealed class TcpPortReuse
{
    private readonly object _gate = new();
    private readonly List<IPEndPoint> _listening = [];

    /// <summary>The endpoints listened on now.</summary>
    public IReadOnlyList<IPEndPoint> Listening
    {
        get
        {
            lock (_gate)
                return [.. _listening];
        }
    }

    /// <summary>Records a bound listener.</summary>
    public void Add(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        lock (_gate)
            _listening.Add(endPoint);
    }

    /// <summary>Forgets a listener that stopped.</summary>
    public void Remove(IPEndPoint endPoint)
    {
        lock (_gate)
            _listening.Remove(endPoint);
    }

    /// <summary>
    /// Where a dial to <paramref name="remote"/> binds: the port of a listener of the same family,
    /// on the wildcard address if that listener has it (the kernel then picks the source address by
    /// route), or on the listener's own address when that is loopback exactly when the remote is (a
    /// loopback source cannot reach another host, nor another address reach loopback). Null when no
    /// listener fits: the dial takes an ephemeral port.
    /// </summary>
    public IPEndPoint? LocalFor(IPEndPoint remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        lock (_gate)
        {
            var family = _listening.Where(l => l.AddressFamily == remote.AddressFamily).ToList();
            if (family.FirstOrDefault(l => l.Address.Equals(IPAddress.Any) || l.Address.Equals(IPAddress.IPv6Any)) is { } wildcard)
                return wildcard;
            return family.FirstOrDefault(l => IPAddress.IsLoopback(l.Address) == IPAddress.IsLoopback(remote.Address));
        }
    }

    /// <summary>Sets SO_REUSEADDR and SO_REUSEPORT on <paramref name="socket"/> (on Linux and the BSDs; elsewhere SO_REUSEADDR only, through .NET).</summary>
    public static void Enable(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var one = BitConverter.GetBytes(1);
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, one);
            socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, one);
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            socket.SetRawSocketOption(0xFFFF /* SOL_SOCKET */, 4 /* SO_REUSEADDR */, one);
            socket.SetRawSocketOption(0xFFFF /* SOL_SOCKET */, 0x200 /* SO_REUSEPORT */, one);
        }
        else
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }
    }
}
