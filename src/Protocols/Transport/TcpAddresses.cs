using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// The multiaddr side of TCP, shared by the TCP engines: which addresses they dial and listen on,
/// and how a socket's endpoints read as multiaddrs.
/// </summary>
internal static class TcpAddresses
{
    /// <summary>Whether <paramref name="address"/> is a host followed by <c>/tcp/N</c>, and nothing else.</summary>
    public static bool IsTcp(Multiaddr address) => address.Components.Count == 2 && address.Components[1].Protocol.Name == "tcp";

    /// <summary>
    /// The endpoint to dial: an <see cref="IPEndPoint"/> for <c>/ip4</c> and <c>/ip6</c>, a
    /// <see cref="DnsEndPoint"/> (restricted to the family <c>/dns4</c> or <c>/dns6</c> names) for host names.
    /// </summary>
    public static bool TryGetDialEndPoint(Multiaddr address, out EndPoint? endPoint)
    {
        endPoint = null;
        if (!IsTcp(address))
            return false;
        if (address.TryGetIPEndPoint(out var ip))
        {
            endPoint = ip;
            return true;
        }
        var host = address.Components[0];
        if (host.Protocol.Name is "dns" or "dns4" or "dns6"
            && int.TryParse(address.Components[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            var family = host.Protocol.Name switch
            {
                "dns4" => AddressFamily.InterNetwork,
                "dns6" => AddressFamily.InterNetworkV6,
                _ => AddressFamily.Unspecified,
            };
            endPoint = new DnsEndPoint(host.Value!, port, family);
            return true;
        }
        return false;
    }

    /// <summary>The endpoint to listen on: <c>/ip4/…/tcp/N</c> or <c>/ip6/…/tcp/N</c>, 0.0.0.0 and :: included.</summary>
    public static bool TryGetListenEndPoint(Multiaddr address, out IPEndPoint? endPoint)
    {
        endPoint = null;
        return IsTcp(address) && address.TryGetIPEndPoint(out endPoint);
    }

    /// <summary>A socket's endpoint as a multiaddr.</summary>
    public static Multiaddr ToMultiaddr(EndPoint endPoint) => endPoint switch
    {
        // Dual-mode sockets report IPv4 peers as ::ffff:a.b.c.d; peers know them as /ip4.
        IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip => Multiaddr.FromIPEndPoint(new IPEndPoint(ip.Address.MapToIPv4(), ip.Port), "tcp"),
        IPEndPoint ip => Multiaddr.FromIPEndPoint(ip, "tcp"),
        DnsEndPoint dns => Multiaddr.Parse($"/dns/{dns.Host}/tcp/{dns.Port}"),
        _ => throw new TransportException($"tcp: unexpected endpoint {endPoint}"),
    };
}
