using System.Collections.Frozen;

namespace Libp2p.Protocols.Multiformats;

/// <summary>
/// One row of the multiaddr protocol table: its name, its multicodec code, and the size of its
/// value (none, a fixed number of bits, or length-prefixed). The table is the one of the multiaddr
/// spec and go-multiaddr; codes are wire values and never change.
/// </summary>
public sealed class MultiaddrProtocol
{
    /// <summary>The size marker of a length-prefixed value.</summary>
    public const int VariableSize = -1;

    private MultiaddrProtocol(string name, int code, int sizeInBits, MultiaddrTranscoder? transcoder, bool isPath = false, string? alias = null)
    {
        Name = name;
        Code = code;
        SizeInBits = sizeInBits;
        Transcoder = transcoder;
        IsPath = isPath;
        Alias = alias;
    }

    /// <summary>The protocol's name in the text form, e.g. <c>tcp</c>.</summary>
    public string Name { get; }

    /// <summary>Another name accepted when parsing (<c>ipfs</c> for <c>p2p</c>).</summary>
    public string? Alias { get; }

    /// <summary>The multicodec code used in the binary form.</summary>
    public int Code { get; }

    /// <summary>0 for no value, a positive number of bits for a fixed-size value, <see cref="VariableSize"/> for a length-prefixed one.</summary>
    public int SizeInBits { get; }

    /// <summary>Whether the value is a path that takes the rest of the text address (<c>unix</c>).</summary>
    public bool IsPath { get; }

    /// <summary>Whether the protocol carries a value.</summary>
    public bool HasValue => SizeInBits != 0;

    internal MultiaddrTranscoder? Transcoder { get; }

    /// <inheritdoc />
    public override string ToString() => Name;

#pragma warning disable CS1591 // The table rows are named as the spec names them.
    public static readonly MultiaddrProtocol Ip4 = new("ip4", 4, 32, MultiaddrTranscoder.Ip4);
    public static readonly MultiaddrProtocol Tcp = new("tcp", 6, 16, MultiaddrTranscoder.Port);
    public static readonly MultiaddrProtocol Dccp = new("dccp", 33, 16, MultiaddrTranscoder.Port);
    public static readonly MultiaddrProtocol Ip6 = new("ip6", 41, 128, MultiaddrTranscoder.Ip6);
    public static readonly MultiaddrProtocol Ip6Zone = new("ip6zone", 42, VariableSize, MultiaddrTranscoder.Zone);
    public static readonly MultiaddrProtocol IpCidr = new("ipcidr", 43, 8, MultiaddrTranscoder.Cidr);
    public static readonly MultiaddrProtocol Dns = new("dns", 53, VariableSize, MultiaddrTranscoder.DnsName);
    public static readonly MultiaddrProtocol Dns4 = new("dns4", 54, VariableSize, MultiaddrTranscoder.DnsName);
    public static readonly MultiaddrProtocol Dns6 = new("dns6", 55, VariableSize, MultiaddrTranscoder.DnsName);
    public static readonly MultiaddrProtocol DnsAddr = new("dnsaddr", 56, VariableSize, MultiaddrTranscoder.DnsName);
    public static readonly MultiaddrProtocol Sctp = new("sctp", 132, 16, MultiaddrTranscoder.Port);
    public static readonly MultiaddrProtocol Udp = new("udp", 273, 16, MultiaddrTranscoder.Port);
    public static readonly MultiaddrProtocol P2pWebRtcStar = new("p2p-webrtc-star", 275, 0, null);
    public static readonly MultiaddrProtocol P2pWebRtcDirect = new("p2p-webrtc-direct", 276, 0, null);
    public static readonly MultiaddrProtocol P2pStardust = new("p2p-stardust", 277, 0, null);
    public static readonly MultiaddrProtocol WebRtcDirect = new("webrtc-direct", 280, 0, null);
    public static readonly MultiaddrProtocol WebRtc = new("webrtc", 281, 0, null);
    public static readonly MultiaddrProtocol P2pCircuit = new("p2p-circuit", 290, 0, null);
    public static readonly MultiaddrProtocol Udt = new("udt", 301, 0, null);
    public static readonly MultiaddrProtocol Utp = new("utp", 302, 0, null);
    public static readonly MultiaddrProtocol Unix = new("unix", 400, VariableSize, MultiaddrTranscoder.UnixPath, isPath: true);
    public static readonly MultiaddrProtocol P2p = new("p2p", 421, VariableSize, MultiaddrTranscoder.PeerId, alias: "ipfs");
    public static readonly MultiaddrProtocol Https = new("https", 443, 0, null);
    public static readonly MultiaddrProtocol Onion = new("onion", 444, 96, MultiaddrTranscoder.Onion);
    public static readonly MultiaddrProtocol Onion3 = new("onion3", 445, 296, MultiaddrTranscoder.Onion3);
    public static readonly MultiaddrProtocol Garlic64 = new("garlic64", 446, VariableSize, MultiaddrTranscoder.Garlic64);
    public static readonly MultiaddrProtocol Garlic32 = new("garlic32", 447, VariableSize, MultiaddrTranscoder.Garlic32);
    public static readonly MultiaddrProtocol Tls = new("tls", 448, 0, null);
    public static readonly MultiaddrProtocol Sni = new("sni", 449, VariableSize, MultiaddrTranscoder.DnsName);
    public static readonly MultiaddrProtocol Noise = new("noise", 454, 0, null);
    public static readonly MultiaddrProtocol Quic = new("quic", 460, 0, null);
    public static readonly MultiaddrProtocol QuicV1 = new("quic-v1", 461, 0, null);
    public static readonly MultiaddrProtocol WebTransport = new("webtransport", 465, 0, null);
    public static readonly MultiaddrProtocol CertHash = new("certhash", 466, VariableSize, MultiaddrTranscoder.CertHash);
    public static readonly MultiaddrProtocol Ws = new("ws", 477, 0, null);
    public static readonly MultiaddrProtocol Wss = new("wss", 478, 0, null);
    public static readonly MultiaddrProtocol P2pWebSocketStar = new("p2p-websocket-star", 479, 0, null);
    public static readonly MultiaddrProtocol Http = new("http", 480, 0, null);
    public static readonly MultiaddrProtocol HttpPath = new("http-path", 481, VariableSize, MultiaddrTranscoder.HttpPath);
    public static readonly MultiaddrProtocol Memory = new("memory", 777, 64, MultiaddrTranscoder.Memory);
    public static readonly MultiaddrProtocol PlaintextV2 = new("plaintextv2", 7367777, 0, null);
#pragma warning restore CS1591

    /// <summary>Every protocol of the table.</summary>
    public static IReadOnlyList<MultiaddrProtocol> All { get; } =
    [
        Ip4, Tcp, Dccp, Ip6, Ip6Zone, IpCidr, Dns, Dns4, Dns6, DnsAddr, Sctp, Udp, P2pWebRtcStar, P2pWebRtcDirect,
        P2pStardust, WebRtcDirect, WebRtc, P2pCircuit, Udt, Utp, Unix, P2p, Https, Onion, Onion3, Garlic64, Garlic32,
        Tls, Sni, Noise, Quic, QuicV1, WebTransport, CertHash, Ws, Wss, P2pWebSocketStar, Http, HttpPath, Memory, PlaintextV2,
    ];

    private static readonly FrozenDictionary<string, MultiaddrProtocol> ByName = BuildByName();
    private static readonly FrozenDictionary<int, MultiaddrProtocol> ByCode = All.ToFrozenDictionary(p => p.Code);

    /// <summary>The protocol with this name or alias, or null.</summary>
    public static MultiaddrProtocol? FromName(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The protocol with this code, or null.</summary>
    public static MultiaddrProtocol? FromCode(int code) => ByCode.GetValueOrDefault(code);

    internal static MultiaddrProtocol? FromName(ReadOnlySpan<char> name) =>
        ByName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var protocol) ? protocol : null;

    private static FrozenDictionary<string, MultiaddrProtocol> BuildByName()
    {
        var names = new Dictionary<string, MultiaddrProtocol>(StringComparer.Ordinal);
        foreach (var protocol in All)
        {
            names.Add(protocol.Name, protocol);
            if (protocol.Alias is not null)
                names.Add(protocol.Alias, protocol);
        }
        return names.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
