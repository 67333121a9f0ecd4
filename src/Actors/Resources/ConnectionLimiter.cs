using System.Net;
using System.Net.Sockets;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Actors.Resources;

/// <summary>
/// At most <paramref name="Conns"/> connections from each subnet of <paramref name="PrefixLength"/>
/// bits (go-libp2p's <c>ConnLimitPerSubnet</c>): with 32 for IPv4, each address is a subnet of its own.
/// </summary>
public sealed record SubnetLimit(int PrefixLength, int Conns);

/// <summary>
/// At most <paramref name="Conns"/> connections from the whole of <paramref name="Network"/>
/// (<c>/ip4/10.0.0.0/ipcidr/8</c>), in place of the per-subnet limits for its addresses
/// (go-libp2p's <c>NetworkPrefixLimit</c>); <see cref="int.MaxValue"/> is unlimited.
/// </summary>
public sealed record NetworkLimit(Multiaddr Network, int Conns);

/// <summary>
/// The connection limiter's rules (go-libp2p's <c>WithLimitPerSubnet</c> and
/// <c>WithNetworkPrefixLimit</c>). An address in one of <see cref="Networks"/> counts only against
/// the most specific network that holds it; any other counts against every rule of its family in
/// <see cref="IPv4"/> or <see cref="IPv6"/>, and must pass them all.
/// </summary>
public sealed record SubnetLimits
{
    /// <summary>No rule: nothing is limited per subnet.</summary>
    public static SubnetLimits None { get; } = new();

    /// <summary>
    /// go-libp2p's defaults (<c>conn_limiter.go</c>): 8 connections per IPv4 address; 8 per IPv6 /56
    /// and 64 per /48; loopback (<c>127.0.0.0/8</c>, <c>::1</c>) unlimited.
    /// </summary>
    public static SubnetLimits Default { get; } = new()
    {
        IPv4 = [new SubnetLimit(32, 8)],
        IPv6 = [new SubnetLimit(56, 8), new SubnetLimit(48, 64)],
        Networks = [new NetworkLimit(Multiaddr.Parse("/ip4/127.0.0.0/ipcidr/8"), int.MaxValue), new NetworkLimit(Multiaddr.Parse("/ip6/::1/ipcidr/128"), int.MaxValue)],
    };

    /// <summary>Limits per IPv4 subnet; prefix lengths 0 to 32.</summary>
    public IReadOnlyList<SubnetLimit> IPv4 { get; init; } = [];

    /// <summary>Limits per IPv6 subnet; prefix lengths 0 to 128.</summary>
    public IReadOnlyList<SubnetLimit> IPv6 { get; init; } = [];

    /// <summary>Networks with a count of their own, of either family.</summary>
    public IReadOnlyList<NetworkLimit> Networks { get; init; } = [];
}

/// <summary>One subnet or network in <see cref="SubnetsStat.Busiest"/>: its connections, its limit, and the refusals it made while tracked.</summary>
public sealed record SubnetUsage(string Subnet, int Inbound, int Outbound, int Limit, long Refused);

/// <summary>The connection limiter's figures (<see cref="ResourceManager.ViewSubnetsAsync"/>).</summary>
/// <param name="Tracked">How many subnets and networks have connections now.</param>
/// <param name="Refused">How many connections were refused since the manager started.</param>
/// <param name="Busiest">The subnets and networks with the most connections, most first.</param>
public sealed record SubnetsStat(int Tracked, long Refused, IReadOnlyList<SubnetUsage> Busiest);

/// <summary>
/// The counts of connections per subnet of their remote IP (go-libp2p's <c>connLimiter</c>), so
/// that one host, or one network, cannot take every connection the node accepts. Checked when a
/// connection's scope opens (in either direction, as go-libp2p does), released when it is done.
/// Not thread-safe, by design: its one writer is <see cref="ConnectionLimiterActor"/>
/// (<c>rcmgr/subnets</c>), which decides every admission by message; the manager's metrics only
/// read <see cref="Tracked"/> and <see cref="Refused"/>.
/// </summary>
internal sealed class ConnectionLimiter
{
    private readonly (IPNetwork Network, int Conns, string Name)[] _networks;
    private readonly SubnetLimit[] _ipv4;
    private readonly SubnetLimit[] _ipv6;
    private readonly Dictionary<Key, Count> _counts = [];
    private int _tracked;
    private long _refused;

    /// <summary>A limiter with <paramref name="limits"/>.</summary>
    /// <exception cref="FormatException">A network has no <c>/ip4</c> or <c>/ip6</c> address, or a bad prefix.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A prefix length does not fit its family, or a count is negative.</exception>
    public ConnectionLimiter(SubnetLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _ipv4 = Checked(limits.IPv4, 32);
        _ipv6 = Checked(limits.IPv6, 128);
        foreach (var limit in limits.Networks)
            ArgumentOutOfRangeException.ThrowIfNegative(limit.Conns, $"connections of {limit.Network}");
        // Most specific first, stable: the first network that holds an address is the one it counts in.
        _networks = limits.Networks
            .Select(l => (Network: Allowlist.Network(l.Network, "network"), l.Conns))
            .Select(l => (l.Network, l.Conns, Name: $"network:{Name(l.Network)}"))
            .OrderByDescending(l => l.Network.PrefixLength)
            .ToArray();
        IsEmpty = _ipv4.Length == 0 && _ipv6.Length == 0 && _networks.Length == 0;
    }

    /// <summary>Whether there is no rule at all, so nothing is counted.</summary>
    public bool IsEmpty { get; }

    /// <summary>How many subnets and networks have connections now (published for the metrics).</summary>
    public int Tracked => Volatile.Read(ref _tracked);

    /// <summary>How many connections were refused since the manager started (published for the metrics).</summary>
    public long Refused => Volatile.Read(ref _refused);

    /// <summary>The <paramref name="count"/> subnets and networks with the most connections, most first, and the totals.</summary>
    public SubnetsStat Stat(int count) => new(_counts.Count, _refused, _counts.Values
        .OrderByDescending(c => c.Inbound + c.Outbound)
        .ThenBy(c => c.Name, StringComparer.Ordinal)
        .Take(count)
        .Select(c => new SubnetUsage(c.Name, c.Inbound, c.Outbound, c.Limit, c.Refused))
        .ToArray());

    /// <summary>
    /// Counts a connection with <paramref name="endpoint"/> in its subnets, or refuses it. An endpoint
    /// without a leading IP (<c>/memory</c>, <c>/dns4</c>) is not counted: the answer is null.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">A subnet or network of the endpoint is full; nothing is counted.</exception>
    public Key[]? Open(Multiaddr? endpoint, Direction direction)
    {
        if (IsEmpty || Allowlist.IpOf(endpoint) is not { } ip)
            return null;
        var inbound = direction == Direction.Inbound;
        for (var i = 0; i < _networks.Length; i++)
        {
            var (network, conns, name) = _networks[i];
            if (!network.Contains(ip))
                continue;
            // As go-libp2p: a network with a limit of its own is counted as a whole, and the
            // per-subnet limits do not apply to its addresses.
            var key = new Key(i, network);
            Admit(key, conns, name, $"{endpoint} is in {Name(network)}, which is limited as a whole");
            Add(key, inbound, conns, name);
            return [key];
        }
        var (rules, first) = ip.AddressFamily == AddressFamily.InterNetwork ? (_ipv4, _networks.Length) : (_ipv6, _networks.Length + _ipv4.Length);
        var keys = new Key[rules.Length];
        var names = new string[rules.Length];
        for (var j = 0; j < rules.Length; j++)
        {
            var subnet = new IPNetwork(Allowlist.Masked(ip, rules[j].PrefixLength), rules[j].PrefixLength);
            keys[j] = new Key(first + j, subnet);
            names[j] = $"subnet:{Name(subnet)}";
            Admit(keys[j], rules[j].Conns, names[j], $"connections from {endpoint} are limited per /{rules[j].PrefixLength} subnet");
        }
        for (var j = 0; j < rules.Length; j++)
            Add(keys[j], inbound, rules[j].Conns, names[j]);
        return keys;
    }

    /// <summary>Gives back the places <see cref="Open"/> counted for one connection.</summary>
    public void Release(Key[] keys, bool inbound)
    {
        foreach (var key in keys)
        {
            if (!_counts.TryGetValue(key, out var count))
                continue;
            if (inbound)
                count.Inbound--;
            else
                count.Outbound--;
            if (count.Inbound + count.Outbound <= 0)
                _counts.Remove(key);
        }
        Volatile.Write(ref _tracked, _counts.Count);
    }

    private void Admit(Key key, int limit, string name, string detail)
    {
        var count = _counts.GetValueOrDefault(key);
        var current = count is null ? 0 : count.Inbound + count.Outbound;
        if (current < limit)
            return;
        Volatile.Write(ref _refused, _refused + 1);
        if (count is not null)
            count.Refused++;
        throw new ResourceLimitExceededException(name, "connections", 1, current, limit, detail);
    }

    private void Add(Key key, bool inbound, int limit, string name)
    {
        if (!_counts.TryGetValue(key, out var count))
            _counts[key] = count = new Count(name, limit);
        if (inbound)
            count.Inbound++;
        else
            count.Outbound++;
        Volatile.Write(ref _tracked, _counts.Count);
    }

    /// <summary>A network in multiaddr form: <c>/ip4/1.2.3.0/ipcidr/24</c>.</summary>
    private static string Name(IPNetwork network) =>
        $"/{(network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? "ip4" : "ip6")}/{network.BaseAddress}/ipcidr/{network.PrefixLength}";

    private static SubnetLimit[] Checked(IReadOnlyList<SubnetLimit> limits, int bits)
    {
        foreach (var limit in limits)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(limit.PrefixLength, "prefix length");
            ArgumentOutOfRangeException.ThrowIfGreaterThan(limit.PrefixLength, bits, "prefix length");
            ArgumentOutOfRangeException.ThrowIfNegative(limit.Conns, "connections");
        }
        return [.. limits];
    }

    /// <summary>A rule (its index) and the subnet or network of it that a connection counts in.</summary>
    internal readonly record struct Key(int Rule, IPNetwork Network);

    private sealed class Count(string name, int limit)
    {
        public string Name { get; } = name;

        public int Limit { get; } = limit;

        public int Inbound { get; set; }

        public int Outbound { get; set; }

        public long Refused { get; set; }
    }
}
