using System.Net;
using System.Net.Sockets;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.AutoNat;

/// <summary>
/// The constants of AutoNAT v2 (libp2p/specs autonat/autonat-v2.md) and the server's pure
/// decisions: which requested address it dials, and whether that dial costs the client dial data.
/// </summary>
public static class AutoNatV2
{
    /// <summary>The client's request stream: DialRequest, DialDataRequest/Response, DialResponse.</summary>
    public const string DialRequestProtocolId = "/libp2p/autonat/2/dial-request";

    /// <summary>The stream the server opens on its fresh connection to carry the nonce back.</summary>
    public const string DialBackProtocolId = "/libp2p/autonat/2/dial-back";

    /// <summary>The largest message accepted on either stream (prefix excluded); go's limit. A DialDataResponse with its 4096 bytes fits.</summary>
    public const int MaxMessageSize = 8192;

    /// <summary>The spec's limit on the data of one DialDataResponse.</summary>
    public const int MaxDialDataChunk = 4096;

    /// <summary>The fewest dial-data bytes a server asks for (the spec: 30k to 100k).</summary>
    public const int MinDialData = 30_000;

    /// <summary>The most dial-data bytes a server asks for, and the most a client agrees to send.</summary>
    public const int MaxDialData = 100_000;

    /// <summary>The most addresses a request may carry; more is refused as malformed (go allows 50 with a 8 KiB message).</summary>
    public const int MaxAddresses = 50;

    /// <summary>
    /// The index of the first address in <paramref name="addresses"/> the server is willing to dial:
    /// parsable, a direct <c>/ip4|ip6/…/tcp/N</c> address (not relayed), public unless
    /// <paramref name="allowPrivate"/>, and of an IP family the server has. -1 for none.
    /// </summary>
    public static int SelectAddress(IReadOnlyList<Multiaddr?> addresses, bool allowPrivate, bool ipv4 = true, bool ipv6 = true)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        for (var i = 0; i < addresses.Count; i++)
        {
            if (addresses[i] is not { } address || address.Has(MultiaddrProtocol.P2pCircuit) || !address.TryGetIPEndPoint(out var endPoint)
                || address.Components[1].Protocol != MultiaddrProtocol.Tcp || endPoint.Port == 0)
                continue;
            var family = endPoint.Address.AddressFamily;
            if (family == AddressFamily.InterNetwork && !ipv4 || family == AddressFamily.InterNetworkV6 && !ipv6)
                continue;
            if (!allowPrivate && !IsPublic(endPoint.Address))
                continue;
            return i;
        }
        return -1;
    }

    /// <summary>
    /// Whether dialing <paramref name="selected"/> costs dial data: its IP is not the one the request
    /// came from (<paramref name="observed"/>, the requesting connection's remote address), so the
    /// server could be used to aim handshakes at a third party.
    /// </summary>
    public static bool RequiresDialData(Multiaddr selected, Multiaddr observed)
    {
        ArgumentNullException.ThrowIfNull(selected);
        ArgumentNullException.ThrowIfNull(observed);
        // Over a relay the address seen is the relay's, not the client's: whose IP it is cannot be told.
        if (observed.Has(Multiformats.MultiaddrProtocol.P2pCircuit))
            return true;
        if (!selected.TryGetIPEndPoint(out var target) || !observed.TryGetIPEndPoint(out var source))
            return true;
        return !Normalize(target.Address).Equals(Normalize(source.Address));
    }

    /// <summary>Whether <paramref name="address"/> is routable on the internet: not loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified or multicast.</summary>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = Normalize(address);
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            return false;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 10 || b[0] == 0 || b[0] == 172 && (b[1] & 0xF0) == 16 || b[0] == 192 && b[1] == 168
                || b[0] == 169 && b[1] == 254 || b[0] == 100 && (b[1] & 0xC0) == 64 || b[0] >= 224);
        }
        var v6 = address.GetAddressBytes();
        return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (v6[0] & 0xFE) == 0xFC);
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>The spec's name of a dial status, e.g. <c>E_DIAL_ERROR</c>.</summary>
    public static string NameOf(Pb.DialStatus status) => status switch
    {
        Pb.DialStatus.Ok => "OK",
        Pb.DialStatus.EDialError => "E_DIAL_ERROR",
        Pb.DialStatus.EDialBackError => "E_DIAL_BACK_ERROR",
        Pb.DialStatus.Unused => "UNUSED",
        _ => ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// An AutoNAT v2 exchange failed: the server refused (<see cref="Status"/> is its ResponseStatus),
/// answered out of order, asked for more dial data than the client pays, or the dial-back's nonce
/// never arrived. The message says which.
/// </summary>
public sealed class AutoNatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AutoNatException(Pb.DialResponse.Types.ResponseStatus? status, string message, Exception? inner = null) : base(message, inner) => Status = status;

    /// <summary>The server's ResponseStatus when it answered one; null when the exchange broke before.</summary>
    public Pb.DialResponse.Types.ResponseStatus? Status { get; }
}
