using System.Diagnostics.CodeAnalysis;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>
/// A WebSocket multiaddr taken apart (specs <c>websockets/README.md</c>, "Addressing"):
/// <c>&lt;host&gt;[/tcp/N](/ws | /wss | /tls[/sni/NAME]/ws)[/http-path/P]</c>. Without a port,
/// <c>/ws</c> means TCP port 80 and the secure forms 443.
/// </summary>
/// <param name="Tcp">The TCP address underneath: host and port.</param>
/// <param name="Suffix">Everything after the TCP part (<c>/ws</c>, <c>/tls/ws</c>, <c>/wss</c>…), kept as written.</param>
/// <param name="Secure">Whether TLS runs under the WebSocket (<c>/wss</c> or <c>/tls/ws</c>).</param>
/// <param name="ServerName">The name TLS asks for (<c>/sni</c>, else a DNS host), or null for an IP address.</param>
/// <param name="HostHeader">The HTTP <c>Host</c> header: the name or address, and the port.</param>
/// <param name="Path">The HTTP request path (<c>/http-path</c>, else <c>/</c>).</param>
public sealed record WebSocketAddress(Multiaddr Tcp, Multiaddr Suffix, bool Secure, string? ServerName, string HostHeader, string Path)
{
    /// <summary>Takes <paramref name="address"/> apart; false if it is no WebSocket address (a trailing <c>/p2p</c> is ignored).</summary>
    public static bool TryParse(Multiaddr address, [NotNullWhen(true)] out WebSocketAddress? result)
    {
        ArgumentNullException.ThrowIfNull(address);
        result = null;
        var parts = address.Components.ToList();
        if (parts.Count > 0 && parts[^1].Protocol == MultiaddrProtocol.P2p)
            parts.RemoveAt(parts.Count - 1);
        if (parts.Count < 2)
            return false;
        var host = parts[0];
        if (host.Protocol != MultiaddrProtocol.Ip4 && host.Protocol != MultiaddrProtocol.Ip6
            && host.Protocol != MultiaddrProtocol.Dns && host.Protocol != MultiaddrProtocol.Dns4 && host.Protocol != MultiaddrProtocol.Dns6)
            return false;
        var i = 1;
        string? port = null;
        if (parts[i].Protocol == MultiaddrProtocol.Tcp)
        {
            port = parts[i].Value;
            i++;
        }
        var suffixStart = i;
        var secure = false;
        string? sni = null;
        if (i < parts.Count && parts[i].Protocol == MultiaddrProtocol.Tls)
        {
            secure = true;
            i++;
            if (i < parts.Count && parts[i].Protocol == MultiaddrProtocol.Sni)
                sni = parts[i++].Value;
            if (i >= parts.Count || parts[i].Protocol != MultiaddrProtocol.Ws)
                return false;
            i++;
        }
        else if (i < parts.Count && parts[i].Protocol == MultiaddrProtocol.Wss)
        {
            secure = true;
            i++;
        }
        else if (i < parts.Count && parts[i].Protocol == MultiaddrProtocol.Ws)
        {
            i++;
        }
        else
        {
            return false;
        }
        var path = "/";
        if (i < parts.Count && parts[i].Protocol == MultiaddrProtocol.HttpPath)
        {
            // The component's text is percent-encoded as a whole; the request target keeps its slashes.
            var decoded = Uri.UnescapeDataString(parts[i++].Value!);
            path = "/" + string.Join('/', decoded.TrimStart('/').Split('/').Select(Uri.EscapeDataString));
        }
        if (i != parts.Count)
            return false;
        port ??= secure ? "443" : "80";
        var tcp = Multiaddr.Parse($"/{host.Protocol.Name}/{host.Value}/tcp/{port}");
        var suffix = parts.Skip(suffixStart).Aggregate(Multiaddr.Empty, (m, c) => m.Encapsulate(c.ToString()));
        var isName = host.Protocol != MultiaddrProtocol.Ip4 && host.Protocol != MultiaddrProtocol.Ip6;
        var hostText = host.Protocol == MultiaddrProtocol.Ip6 ? $"[{host.Value}]" : host.Value!;
        result = new WebSocketAddress(tcp, suffix, secure, sni ?? (isName ? host.Value : null), $"{sni ?? hostText}:{port}", path);
        return true;
    }
}
