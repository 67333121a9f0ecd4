using Akka.Configuration;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Dcutr;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Relay;

namespace Libp2p.Actors.Resources;

/// <summary>Limits scaled to the machine, and limits read from HOCON.</summary>
public static class ResourceLimitDefaults
{
    private const long MiB = 1 << 20;
    private const int Unlimited = int.MaxValue / 2;
    private const double GiB = 1 << 30;

    // Ping's protocol lives in the host, above this library; its id is the spec's.
    private const string PingProtocolId = "/ipfs/ping/1.0.0";

    /// <summary>
    /// go-libp2p's default scaling limits: a base for each scope kind plus an increase per GiB of the
    /// memory given to libp2p and per file descriptor. As go's <c>AutoScale</c>, libp2p gets an eighth
    /// of the machine's memory and half of the process's file descriptor limit.
    /// </summary>
    public static ResourceLimits Scaled(long? memory = null, int? fileDescriptors = null)
    {
        var mem = memory ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8;
        var fds = fileDescriptors ?? FileDescriptorLimit() / 2;
        var gib = Math.Max(0, (mem - 128 * MiB) / GiB);
        ScopeLimit Scale(int connsIn, int connsOut, int conns, int streamsIn, int streamsOut, int streams, long memoryBase, double fdFraction, int fdBase,
            int connsInUp, int connsOutUp, int connsUp, int streamsInUp, int streamsOutUp, int streamsUp, long memoryUp) => new()
        {
            ConnsInbound = Grow(connsIn, connsInUp),
            ConnsOutbound = Grow(connsOut, connsOutUp),
            Conns = Grow(conns, connsUp),
            StreamsInbound = Grow(streamsIn, streamsInUp),
            StreamsOutbound = Grow(streamsOut, streamsOutUp),
            Streams = Grow(streams, streamsUp),
            Memory = memoryBase + (long)(memoryUp * gib),
            FD = fdBase >= Unlimited ? int.MaxValue : fdBase + (int)(fdFraction * fds),
        };
        // go's "unlimited" base (half of int.MaxValue, so that scaling cannot overflow) stays unlimited.
        int Grow(int value, int perGiB) => value >= Unlimited ? int.MaxValue : value + (int)(perGiB * gib);
        // A service's or protocol's limit: streams and memory only, each plus its increase per GiB.
        ScopeLimit Streams(int streamsIn, int streamsOut, int streams, long memoryBase, int streamsInUp, int streamsOutUp, int streamsUp, long memoryUp) =>
            Scale(Unlimited, Unlimited, Unlimited, streamsIn, streamsOut, streams, memoryBase, 0, Unlimited, 0, 0, 0, streamsInUp, streamsOutUp, streamsUp, memoryUp);
        var system = Scale(64, 128, 128, 1024, 2048, 2048, 128 * MiB, 1.0, 256, 64, 128, 128, 1024, 2048, 2048, 1024 * MiB);
        var transient = Scale(32, 64, 64, 128, 256, 256, 32 * MiB, 0.25, 64, 16, 32, 32, 128, 256, 256, 128 * MiB);
        return new ResourceLimits
        {
            System = system,
            Transient = transient,
            // go-libp2p gives the allow-listed pair the same scaling as the ordinary pair: as much
            // again, reserved for the allow-listed, so the others cannot use it up.
            AllowlistedSystem = system,
            AllowlistedTransient = transient,
            Subnets = SubnetLimits.Default,
            ServiceDefault = Scale(Unlimited, Unlimited, Unlimited, 1024, 4096, 4096, 64 * MiB, 0, Unlimited, 0, 0, 0, 512, 2048, 2048, 128 * MiB),
            ProtocolDefault = Scale(Unlimited, Unlimited, Unlimited, 512, 2048, 2048, 64 * MiB, 0, Unlimited, 0, 0, 0, 256, 512, 512, 164 * MiB),
            PeerDefault = Scale(8, 8, 8, 256, 512, 512, 64 * MiB, 1.0 / 64, 4, 0, 0, 0, 128, 256, 256, 128 * MiB),
            ServicePeerDefault = Streams(128, 256, 256, 16 * MiB, 0, 0, 0, 0),
            // go-libp2p's SetDefaultServiceLimits for the bundled protocols: each service, and its
            // protocols (on both sides of each exchange).
            Services = new Dictionary<string, ScopeLimit>
            {
                [ServiceNames.Identify] = Streams(64, 64, 128, 4 * MiB, 64, 64, 128, 4 * MiB),
                [ServiceNames.Ping] = Streams(64, 64, 64, 4 * MiB, 64, 64, 64, 4 * MiB),
                [ServiceNames.HolePunch] = Streams(32, 32, 64, 4 * MiB, 8, 8, 16, 4 * MiB),
                [ServiceNames.Relay] = Streams(256, 256, 256, 16 * MiB, 256, 256, 256, 16 * MiB),
            },
            // And one peer's share of each (AddServicePeerLimit), fixed: the most one peer needs at once.
            ServicePeers = new Dictionary<string, ScopeLimit>
            {
                [ServiceNames.Identify] = Streams(16, 16, 32, 1 * MiB, 0, 0, 0, 0),
                [ServiceNames.Ping] = Streams(2, 3, 4, 32 * (256 * MiB + 16 * 1024), 0, 0, 0, 0),
                [ServiceNames.HolePunch] = Streams(2, 2, 2, 1 * MiB, 0, 0, 0, 0),
                [ServiceNames.Relay] = Streams(64, 64, 64, 1 * MiB, 0, 0, 0, 0),
            },
            Protocols = new Dictionary<string, ScopeLimit>
            {
                [IdentifyMessage.ProtocolId] = Streams(64, 64, 128, 4 * MiB, 64, 64, 128, 4 * MiB),
                [IdentifyMessage.PushProtocolId] = Streams(64, 64, 128, 4 * MiB, 64, 64, 128, 4 * MiB),
                [PingProtocolId] = Streams(64, 64, 64, 4 * MiB, 64, 64, 64, 4 * MiB),
                [HolePunchMessages.ProtocolId] = Streams(32, 32, 64, 4 * MiB, 8, 8, 16, 4 * MiB),
                [CircuitRelay.HopProtocolId] = Streams(640, 640, 640, 16 * MiB, 640, 640, 640, 16 * MiB),
                [CircuitRelay.StopProtocolId] = Streams(640, 640, 640, 16 * MiB, 640, 640, 640, 16 * MiB),
            },
            Connection = new ScopeLimit { ConnsInbound = 1, ConnsOutbound = 1, Conns = 1, FD = 1, Memory = 32 * MiB },
            Stream = new ScopeLimit { StreamsInbound = 1, StreamsOutbound = 1, Streams = 1, Memory = 16 * MiB },
        };
    }

    /// <summary>
    /// Reads <c>akka.libp2p.resource-manager</c>: blocks <c>system</c>, <c>transient</c>,
    /// <c>service-default</c>, <c>protocol-default</c>, <c>peer-default</c>, <c>connection</c>,
    /// <c>stream</c>, <c>service-peer-default</c>, and <c>services</c>, <c>service-peers</c> (one
    /// peer's share of a service), <c>protocols</c>, <c>peers</c> keyed by name, each with
    /// any of <c>memory</c> (a size such as <c>256MiB</c>), <c>streams</c>, <c>streams-inbound</c>,
    /// <c>streams-outbound</c>, <c>conns</c>, <c>conns-inbound</c>, <c>conns-outbound</c>, <c>fd</c>;
    /// and <c>allowlist { addresses = [...], system { … }, transient { … } }</c> for the allow-list
    /// and its scopes' limits; and <c>connections-per-subnet { ipv4 = [{ prefix, conns }], ipv6 = [ … ],
    /// networks = [{ network, conns }] }</c> for the connection limiter, each list replacing its default.
    /// What is not set keeps the value of <paramref name="fallback"/> (the scaled defaults).
    /// </summary>
    public static ResourceLimits FromConfig(Config config, ResourceLimits? fallback = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var limits = fallback ?? Scaled();
        var section = config.GetConfig("akka.libp2p.resource-manager");
        if (section is null || section.IsEmpty)
            return limits;
        ScopeLimit Read(string path, ScopeLimit current) => section.HasPath(path) ? Apply(section.GetConfig(path), current) : current;
        // A named block starts from the kind's default as this same configuration sets it.
        var serviceDefault = Read("service-default", limits.ServiceDefault);
        var protocolDefault = Read("protocol-default", limits.ProtocolDefault);
        var peerDefault = Read("peer-default", limits.PeerDefault);
        var servicePeerDefault = Read("service-peer-default", limits.ServicePeerDefault);
        return limits with
        {
            System = Read("system", limits.System),
            Transient = Read("transient", limits.Transient),
            ServiceDefault = serviceDefault,
            ProtocolDefault = protocolDefault,
            PeerDefault = peerDefault,
            Connection = Read("connection", limits.Connection),
            Stream = Read("stream", limits.Stream),
            Services = Named(section, "services", serviceDefault, limits.Services, name => name),
            ServicePeerDefault = servicePeerDefault,
            ServicePeers = Named(section, "service-peers", servicePeerDefault, limits.ServicePeers, name => name),
            Protocols = Named(section, "protocols", protocolDefault, limits.Protocols, name => name),
            Peers = Named(section, "peers", peerDefault, limits.Peers, PeerId.Parse),
            AllowlistedSystem = Read("allowlist.system", limits.AllowlistedSystem),
            AllowlistedTransient = Read("allowlist.transient", limits.AllowlistedTransient),
            Allowlist = section.HasPath("allowlist.addresses")
                ? section.GetStringList("allowlist.addresses").Select(Multiaddr.Parse).ToArray()
                : limits.Allowlist,
            Subnets = Subnets(section, limits.Subnets),
        };
    }

    /// <summary>
    /// <c>connections-per-subnet</c>: each of <c>ipv4</c>, <c>ipv6</c> and <c>networks</c> that is set
    /// replaces its list in <paramref name="current"/> (as go-libp2p's options replace a family's defaults).
    /// </summary>
    /// <exception cref="FormatException">A rule lacks a key, or has a bad prefix, network or count.</exception>
    private static SubnetLimits Subnets(Config section, SubnetLimits current)
    {
        const string block = "connections-per-subnet";
        IEnumerable<Config> Rules(string list) => section.GetValue($"{block}.{list}").GetArray().Select(v => new Config(new Akka.Configuration.Hocon.HoconRoot(v)));
        SubnetLimit[] Family(string list, int bits) => Rules(list).Select(rule =>
        {
            var prefix = rule.HasPath("prefix") ? rule.GetInt("prefix") : throw new FormatException($"{block}.{list}: a rule has no prefix");
            if (prefix < 0 || prefix > bits)
                throw new FormatException($"{block}.{list}: prefix {prefix} is not between 0 and {bits}");
            return new SubnetLimit(prefix, Conns(rule, $"{block}.{list}"));
        }).ToArray();
        var limits = current;
        if (section.HasPath($"{block}.ipv4"))
            limits = limits with { IPv4 = Family("ipv4", 32) };
        if (section.HasPath($"{block}.ipv6"))
            limits = limits with { IPv6 = Family("ipv6", 128) };
        if (section.HasPath($"{block}.networks"))
        {
            limits = limits with
            {
                Networks = Rules("networks").Select(rule =>
                {
                    var text = rule.HasPath("network") ? rule.GetString("network") : throw new FormatException($"{block}.networks: a rule has no network");
                    if (!Multiaddr.TryParse(text, out var network))
                        throw new FormatException($"{block}.networks: '{text}' is not a multiaddr");
                    return new NetworkLimit(network, Conns(rule, $"{block}.networks"));
                }).ToArray(),
            };
        }
        // The limiter's own checks (an /ip4 or /ip6 network, a prefix that fits), as configuration errors.
        _ = new ConnectionLimiter(limits);
        return limits;
    }

    /// <summary>A rule's <c>conns</c>: a count, or <c>unlimited</c>.</summary>
    private static int Conns(Config rule, string list)
    {
        var text = rule.HasPath("conns") ? rule.GetString("conns") : throw new FormatException($"{list}: a rule has no conns");
        if (text == "unlimited")
            return int.MaxValue;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var conns)
            ? conns
            : throw new FormatException($"{list}: conns = '{text}' is neither a count nor unlimited");
    }

    /// <summary>The named limits of <paramref name="existing"/> (set in code), with those of the HOCON block over them.</summary>
    private static Dictionary<TKey, ScopeLimit> Named<TKey>(Config section, string path, ScopeLimit defaults, IReadOnlyDictionary<TKey, ScopeLimit> existing, Func<string, TKey> key) where TKey : notnull
    {
        var named = existing.ToDictionary();
        if (!section.HasPath(path))
            return named;
        // Names such as /echo/1.0.0 hold dots, so they are read as the object's keys, not as paths.
        foreach (var (name, value) in section.GetConfig(path).Root.GetObject().Items)
        {
            var id = key(name);
            named[id] = Apply(new Config(new Akka.Configuration.Hocon.HoconRoot(value)), named.GetValueOrDefault(id) ?? defaults);
        }
        return named;
    }

    private static ScopeLimit Apply(Config block, ScopeLimit current) => current with
    {
        Memory = block.HasPath("memory") ? block.GetByteSize("memory") ?? current.Memory : current.Memory,
        Streams = block.GetInt("streams", current.Streams),
        StreamsInbound = block.GetInt("streams-inbound", current.StreamsInbound),
        StreamsOutbound = block.GetInt("streams-outbound", current.StreamsOutbound),
        Conns = block.GetInt("conns", current.Conns),
        ConnsInbound = block.GetInt("conns-inbound", current.ConnsInbound),
        ConnsOutbound = block.GetInt("conns-outbound", current.ConnsOutbound),
        FD = block.GetInt("fd", current.FD),
    };

    /// <summary>The process's soft limit on open files (Linux /proc), or 1024 when unknown.</summary>
    private static int FileDescriptorLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                    continue;
                var soft = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
                return int.TryParse(soft, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 1024;
    }
}
