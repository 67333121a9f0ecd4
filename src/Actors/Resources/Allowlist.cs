using System.Net;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Resources;

/// <summary>
/// Addresses whose connections may use the allow-listed system and transient scopes when the
/// ordinary ones are full (go-libp2p's <c>rcmgr</c> allowlist). An entry is an address
/// (<c>/ip4/1.2.3.4</c>) or a network (<c>/ip4/1.2.3.0/ipcidr/24</c>), optionally restricted to one
/// peer with <c>/p2p/&lt;id&gt;</c>. Thread-safe: entries may be added and removed while in use.
/// </summary>
public sealed class Allowlist
{
    private readonly object _gate = new();
    private readonly List<Entry> _entries = [];

    /// <summary>An allow-list of <paramref name="entries"/>.</summary>
    /// <exception cref="FormatException">An entry has no <c>/ip4</c> or <c>/ip6</c> address, or a bad prefix.</exception>
    public Allowlist(IEnumerable<Multiaddr>? entries = null)
    {
        foreach (var entry in entries ?? [])
            Add(entry);
    }

    private sealed record Entry(Multiaddr Address, IPNetwork Network, PeerId? Peer);

    /// <summary>The entries, in the order they were added.</summary>
    public IReadOnlyList<Multiaddr> Entries
    {
        get
        {
            lock (_gate)
                return _entries.Select(e => e.Address).ToArray();
        }
    }

    /// <summary>Whether there is no entry at all.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
                return _entries.Count == 0;
        }
    }

    /// <summary>Adds an entry (the seed's <c>Allowlist.Add</c>).</summary>
    /// <exception cref="FormatException">The entry has no <c>/ip4</c> or <c>/ip6</c> address, or a bad prefix.</exception>
    public void Add(Multiaddr entry)
    {
        var parsed = Parse(entry);
        lock (_gate)
            _entries.Add(parsed);
    }

    /// <summary>Removes an entry added before; false when there was none equal to it.</summary>
    public bool Remove(Multiaddr entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
            return _entries.RemoveAll(e => e.Address == entry) > 0;
    }

    /// <summary>
    /// Whether any entry, restricted to a peer or not, covers <paramref name="endpoint"/>'s IP: a
    /// connection from there may try the allow-listed scopes, and learns its peer only later.
    /// </summary>
    public bool Allowed(Multiaddr endpoint)
    {
        if (IpOf(endpoint) is not { } ip)
            return false;
        lock (_gate)
            return _entries.Exists(e => e.Network.Contains(ip));
    }

    /// <summary>Whether an entry for any peer, or one for <paramref name="peer"/>, covers <paramref name="endpoint"/>'s IP.</summary>
    public bool AllowedPeerAndMultiaddr(PeerId peer, Multiaddr endpoint)
    {
        if (IpOf(endpoint) is not { } ip)
            return false;
        lock (_gate)
            return _entries.Exists(e => (e.Peer is null || e.Peer == peer) && e.Network.Contains(ip));
    }

    private static Entry Parse(Multiaddr entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        PeerId? peer = null;
        foreach (var component in entry.Components)
        {
            if (component.Protocol == MultiaddrProtocol.P2p)
                peer ??= PeerId.Parse(component.Value!);
        }
        return new Entry(entry, Network(entry, "allow-list entry"), peer);
    }

    /// <summary>
    /// The network of <c>/ip4/…</c> or <c>/ip6/…</c>, with <c>/ipcidr/&lt;n&gt;</c> if any (else the
    /// one address), host bits cleared; <paramref name="what"/> names it in the error.
    /// </summary>
    /// <exception cref="FormatException">No <c>/ip4</c> or <c>/ip6</c> address, or a prefix longer than the address.</exception>
    internal static IPNetwork Network(Multiaddr entry, string what)
    {
        IPAddress? ip = null;
        int? prefix = null;
        foreach (var component in entry.Components)
        {
            if (component.Protocol == MultiaddrProtocol.Ip4 || component.Protocol == MultiaddrProtocol.Ip6)
                ip ??= new IPAddress(component.RawValue);
            else if (component.Protocol == MultiaddrProtocol.IpCidr)
                prefix ??= component.RawValue[0];
        }
        if (ip is null)
            throw new FormatException($"{what} {entry} has no /ip4 or /ip6 address");
        var bits = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        var length = prefix ?? bits;
        if (length > bits)
            throw new FormatException($"{what} {entry}: /ipcidr/{length} is longer than the {bits} bits of the address");
        return new IPNetwork(Masked(ip, length), length);
    }

    /// <summary>The network's base address: as go's <c>ParseCIDR</c>, host bits are cleared, not refused.</summary>
    internal static IPAddress Masked(IPAddress ip, int prefix)
    {
        var bytes = ip.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - 8 * i, 0, 8);
            bytes[i] &= (byte)(0xff00 >> keep);
        }
        return new IPAddress(bytes);
    }

    /// <summary>The IP an endpoint starts with (as go's <c>manet.ToIP</c>), IPv4-mapped IPv6 read as IPv4.</summary>
    internal static IPAddress? IpOf(Multiaddr? endpoint)
    {
        if (endpoint is null || endpoint.IsEmpty)
            return null;
        var first = endpoint.Components[0];
        if (first.Protocol != MultiaddrProtocol.Ip4 && first.Protocol != MultiaddrProtocol.Ip6)
            return null;
        var ip = new IPAddress(first.RawValue);
        return ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
    }
}
