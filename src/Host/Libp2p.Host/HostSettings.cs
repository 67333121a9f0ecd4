using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Host.Identity;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Host;

/// <summary>
/// Everything a <see cref="Libp2pHost"/> is made of; immutable, read from HOCON
/// (<see cref="FromConfig"/>) or built in code and changed with <c>with { … }</c>.
/// </summary>
/// <param name="Identity">The node's private key; its public key is the peer ID.</param>
public sealed record HostSettings(PrivateKey Identity)
{
    /// <summary>The HOCON path every key lives under.</summary>
    public const string ConfigPath = "akka.libp2p";

    /// <summary>Addresses to listen on at start (default: every IPv4 interface, a free TCP port).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses { get; init; } = [Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")];

    /// <summary>The Swarm underneath: muxers, dial and connection limits, resource manager.</summary>
    public SwarmSettings Swarm { get; init; } = new(Identity);

    /// <summary>How long a dial the host starts may take (the seed's <c>DialPeerTimeout</c>).</summary>
    public TimeSpan DialTimeout { get; init; } = Libp2p.Actors.Network.NetworkLimits.DialPeerTimeout;

    /// <summary>Sent in identify as <c>protocolVersion</c>.</summary>
    public string ProtocolVersion { get; init; } = "ipfs/0.1.0";

    /// <summary>Sent in identify as <c>agentVersion</c>.</summary>
    public string AgentVersion { get; init; } = DefaultAgentVersion;

    /// <summary>Whether identify pushes changes of our addresses and protocols to connected peers.</summary>
    public bool IdentifyPush { get; init; } = true;

    /// <summary>The one deadline of identifying a peer: from opening the stream to the last byte of its answer.</summary>
    public TimeSpan IdentifyTimeout { get; init; } = Services.IdentifyService.Timeout;

    /// <summary>Serve <c>/ipfs/ping/1.0.0</c>.</summary>
    public bool Ping { get; init; } = true;

    /// <summary>Serve <c>/echo/1.0.0</c>.</summary>
    public bool Echo { get; init; } = true;

    /// <summary>Serve <c>/perf/1.0.0</c>.</summary>
    public bool Perf { get; init; } = true;

    /// <summary>Serve <c>/libp2p-dotnet/resources/1.0.0</c> (our resource scopes to any peer that asks); off by default.</summary>
    public bool Resources { get; init; }

    /// <summary>
    /// Serve as a circuit relay (the hop protocol) within these limits; null (the default) to serve
    /// none. Relaying through others needs a <see cref="Libp2p.Actors.Relay.RelayTransport"/> among
    /// the Swarm's transports, which <see cref="FromConfig"/> adds unless <c>relay.client = off</c>.
    /// </summary>
    public Libp2p.Actors.Relay.RelayServiceSettings? RelayService { get; init; }

    /// <summary>
    /// Check this node's addresses with AutoNAT v2 servers (<see cref="Libp2pHost.CheckReachabilityAsync"/>):
    /// serve the dial-back protocol and keep the reachability verdict. On by default.
    /// </summary>
    public bool AutoNatClient { get; init; } = true;

    /// <summary>
    /// Ask connected AutoNAT v2 servers about this node's addresses periodically (needs
    /// <see cref="AutoNatClient"/>); null to check only on demand (<see cref="Libp2pHost.CheckReachabilityAsync"/>).
    /// </summary>
    public Libp2p.Actors.AutoNat.AutoNatProbeSettings? AutoNatProbe { get; init; } = Libp2p.Actors.AutoNat.AutoNatProbeSettings.Default;

    /// <summary>The reachability verdict stands on each server's latest result among the last this many (<c>autonat.reachability-window</c>).</summary>
    public int ReachabilityWindow { get; init; } = 5;

    /// <summary>Agreeing results within <see cref="ReachabilityWindow"/> that make the verdict; a majority of it (<c>autonat.reachability-threshold</c>).</summary>
    public int ReachabilityThreshold { get; init; } = 3;

    /// <summary>How observed addresses, AutoNAT results and the NAT type are kept (<see cref="Libp2p.Actors.AutoNat.AddressManagerActor"/>).</summary>
    public Libp2p.Actors.AutoNat.AddressManagerSettings AddressManager { get; init; } = Libp2p.Actors.AutoNat.AddressManagerSettings.Default;

    /// <summary>
    /// Hole punching (DCUtR, docs/relay.md) within these limits: serve <c>/libp2p/dcutr</c> and, when a
    /// relayed connection comes in from a peer that speaks it, punch a direct connection that replaces
    /// it. On by default; <see cref="FromConfig"/> turns it off with <c>hole-punching.enabled = off</c>
    /// or <c>relay.client = off</c> (without relayed connections there is nothing to upgrade). Null: off.
    /// </summary>
    public Libp2p.Actors.Dcutr.HolePunchSettings? HolePunching { get; init; } = Libp2p.Actors.Dcutr.HolePunchSettings.Default;

    /// <summary>Serve AutoNAT v2 (dial others back to tell them whether they are reachable) within these limits; null (the default) to serve none.</summary>
    public Libp2p.Actors.AutoNat.AutoNatServerSettings? AutoNatService { get; init; }

    /// <summary><c>libp2p-dotnet/</c> and this assembly's version.</summary>
    public static string DefaultAgentVersion { get; } =
        $"libp2p-dotnet/{typeof(HostSettings).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}";

    /// <summary>The reference configuration: every key with its default (the embedded <c>reference.conf</c>).</summary>
    public static Config ReferenceConfig { get; } = LoadReference();

    /// <summary>
    /// Reads <c>akka.libp2p</c> from <paramref name="config"/>, falling back to
    /// <see cref="ReferenceConfig"/> for what it leaves out. The identity is loaded (or created)
    /// from <c>identity.key-file</c>, or generated when that is empty.
    /// </summary>
    /// <exception cref="ConfigurationException">A value is malformed or names something unknown.</exception>
    public static HostSettings FromConfig(Config config, PrivateKey? identity = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var root = config.WithFallback(ReferenceConfig);
        var section = root.GetConfig(ConfigPath);
        identity ??= LoadIdentity(section.GetConfig("identity"));
        var muxers = section.GetStringList("muxers").Select(Muxer).ToArray();
        var security = section.GetStringList("security");
        if (security.Count == 0 || security.Any(s => !SecurityProtocols.Supported.Contains(s)) || security.Distinct().Count() != security.Count)
            throw new ConfigurationException($"{ConfigPath}.security: a list of distinct protocols among {string.Join(", ", SecurityProtocols.Supported)}, not [{string.Join(", ", security)}]");
        var swarm = new SwarmSettings(identity)
        {
            Transports = section.GetBoolean("relay.client")
                ? [.. Transports(section), new Libp2p.Actors.Relay.RelayTransport(Libp2p.Protocols.Peer.PeerId.FromPublicKey(identity.PublicKey), PositiveTime(section, "relay.handshake-timeout"))]
                : Transports(section),
            Muxers = muxers,
            Security = security.ToArray(),
            DialParallelism = Positive(section, "dial.parallelism"),
            PeerstoreGracePeriod = PositiveTime(section, "peerstore.grace-period"),
            BackoffBase = section.GetTimeSpan("dial.backoff-base"),
            BackoffMax = section.GetTimeSpan("dial.backoff-max"),
            Connection = new ConnectionStageSettings(
                section.GetTimeSpan("connection.upgrade-timeout"),
                Positive(section, "connection.inbound-stream-backlog"),
                section.GetTimeSpan("connection.keep-alive-interval"))
            {
                StreamCloseTimeout = section.GetTimeSpan("connection.stream-close-timeout"),
            },
            Streams = new StreamLimits(
                section.GetTimeSpan("connection.stream-negotiation-timeout"),
                Positive(section, "connection.max-negotiating-inbound-streams")),
            Resources = new ResourceManager(Limits(root)),
            Gater = Gater(section.GetConfig("gater")),
        };
        swarm = swarm with { ConnectionManager = ConnectionManager(section.GetConfig("connection-manager"), swarm.Resources.Limits) };
        var agent = section.GetString("identify.agent-version");
        var settings = new HostSettings(identity)
        {
            ListenAddresses = section.GetStringList("listen").Select(a => Address(a)).ToArray(),
            Swarm = swarm,
            DialTimeout = section.GetTimeSpan("dial.timeout"),
            ProtocolVersion = section.GetString("identify.protocol-version"),
            AgentVersion = string.IsNullOrEmpty(agent) ? DefaultAgentVersion : agent,
            IdentifyPush = section.GetBoolean("identify.push"),
            IdentifyTimeout = PositiveTime(section, "identify.timeout"),
            Ping = section.GetBoolean("services.ping"),
            Echo = section.GetBoolean("services.echo"),
            Perf = section.GetBoolean("services.perf"),
            Resources = section.GetBoolean("services.resources"),
            RelayService = section.GetBoolean("relay.service") ? ReadRelayService(section) : null,
            AutoNatClient = section.GetBoolean("autonat.client"),
            HolePunching = section.GetBoolean("hole-punching.enabled") && section.GetBoolean("relay.client")
                ? new Libp2p.Actors.Dcutr.HolePunchSettings
                {
                    StreamTimeout = PositiveTime(section, "hole-punching.stream-timeout"),
                    DialTimeout = PositiveTime(section, "hole-punching.dial-timeout"),
                    MaxAttempts = Positive(section, "hole-punching.max-attempts"),
                }
                : null,
            AutoNatService = section.GetBoolean("autonat.service") ? ReadAutoNatService(section) : null,
            AutoNatProbe = section.GetBoolean("autonat.probe") ? ReadAutoNatProbe(section) : null,
            ReachabilityWindow = Positive(section, "autonat.reachability-window"),
            ReachabilityThreshold = Positive(section, "autonat.reachability-threshold"),
            AddressManager = ReadAddressManager(section),
        };
        if (settings.ReachabilityThreshold <= settings.ReachabilityWindow / 2 || settings.ReachabilityThreshold > settings.ReachabilityWindow)
            throw new ConfigurationException($"{ConfigPath}.autonat.reachability-threshold ({settings.ReachabilityThreshold}) must be a majority of reachability-window ({settings.ReachabilityWindow}), or both verdicts could hold at once");
        return settings;
    }

    private static Libp2p.Actors.AutoNat.AutoNatProbeSettings ReadAutoNatProbe(Config section)
    {
        var probe = new Libp2p.Actors.AutoNat.AutoNatProbeSettings
        {
            FirstDelay = section.GetTimeSpan("autonat.probe-first-delay"),
            RetryInterval = PositiveTime(section, "autonat.probe-retry-interval"),
            Interval = PositiveTime(section, "autonat.probe-interval"),
            ServerBackoff = PositiveTime(section, "autonat.probe-server-backoff"),
            CheckTimeout = PositiveTime(section, "autonat.probe-check-timeout"),
            Confidence = Positive(section, "autonat.reachability-threshold"),
        };
        return probe.Problem() is { } problem ? throw new ConfigurationException($"{ConfigPath}.autonat: {problem}") : probe;
    }

    private static Libp2p.Actors.AutoNat.AddressManagerSettings ReadAddressManager(Config section) => new()
    {
        ObservationTtl = PositiveTime(section, "autonat.observed-address-ttl"),
        MaxObservations = Positive(section, "autonat.max-observed-addresses"),
        MaxObservationsPerObserver = Positive(section, "autonat.max-observed-addresses-per-observer"),
        NatTypeMinObservers = Positive(section, "autonat.nat-type-min-observers"),
        ResultTtl = PositiveTime(section, "autonat.result-ttl"),
    };

    private static Libp2p.Actors.AutoNat.AutoNatServerSettings ReadAutoNatService(Config section)
    {
        var dialData = section.GetInt("autonat.dial-data");
        if (dialData < Libp2p.Protocols.AutoNat.AutoNatV2.MinDialData || dialData > Libp2p.Protocols.AutoNat.AutoNatV2.MaxDialData)
            throw new ConfigurationException($"{ConfigPath}.autonat.dial-data must be within {Libp2p.Protocols.AutoNat.AutoNatV2.MinDialData} and {Libp2p.Protocols.AutoNat.AutoNatV2.MaxDialData} (the spec's range), not {dialData}");
        var streamTimeout = PositiveTime(section, "autonat.stream-timeout");
        var dialBackTimeout = PositiveTime(section, "autonat.dial-back-timeout");
        // The answer goes out on the request stream after the dial-back: within its deadline.
        if (dialBackTimeout >= streamTimeout)
            throw new ConfigurationException($"{ConfigPath}.autonat.dial-back-timeout ({dialBackTimeout}) must be shorter than stream-timeout ({streamTimeout}), which the dial-back is part of");
        return new Libp2p.Actors.AutoNat.AutoNatServerSettings
        {
            AllowPrivateAddresses = section.GetBoolean("autonat.allow-private-addresses"),
            RequestsPerPeerPerMinute = Positive(section, "autonat.requests-per-peer-per-minute"),
            RequestsPerMinute = Positive(section, "autonat.requests-per-minute"),
            DialDataBytes = dialData,
            StreamTimeout = streamTimeout,
            DialBackTimeout = dialBackTimeout,
        };
    }

    private static Libp2p.Actors.Relay.RelayServiceSettings ReadRelayService(Config section)
    {
        var data = section.GetByteSize("relay.circuit-data") ?? 0;
        var duration = section.GetTimeSpan("relay.circuit-duration");
        if (data < 0 || duration < TimeSpan.Zero)
            throw new ConfigurationException($"{ConfigPath}.relay: circuit-duration and circuit-data must be 0 (no limit) or positive");
        return new Libp2p.Actors.Relay.RelayServiceSettings
        {
            ReservationTtl = PositiveTime(section, "relay.reservation-ttl"),
            MaxReservations = Positive(section, "relay.max-reservations"),
            MaxCircuitsPerPeer = Positive(section, "relay.max-circuits-per-peer"),
            CircuitDuration = duration,
            CircuitData = data,
            HandshakeTimeout = PositiveTime(section, "relay.handshake-timeout"),
        };
    }

    private static ConnectionManagerSettings? ConnectionManager(Config section, ResourceLimits limits)
    {
        if (!section.GetBoolean("enabled"))
            return null;
        var settings = new ConnectionManagerSettings(section.GetInt("low-water"), section.GetInt("high-water"))
        {
            GracePeriod = section.GetTimeSpan("grace-period"),
            SilencePeriod = section.GetTimeSpan("silence-period"),
            DecayResolution = section.GetTimeSpan("decay-resolution"),
        };
        return settings.Conflict(limits) is { } conflict ? throw new ConfigurationException($"{ConfigPath}.{conflict}") : settings;
    }

    private static ConfiguredConnectionGater? Gater(Config section)
    {
        string[] lists = ["deny-peers", "deny-addresses", "allow-peers", "allow-addresses"];
        if (lists.All(l => section.GetStringList(l).Count == 0))
            return null;
        PeerId[] Peers(string list) => [.. section.GetStringList(list).Select(p => PeerId.TryParse(p, out var peer)
            ? peer : throw new ConfigurationException($"{ConfigPath}.gater.{list}: '{p}' is not a peer ID"))];
        Multiaddr[] Addresses(string list) => [.. section.GetStringList(list).Select(a => Multiaddr.TryParse(a, out var address)
            ? address : throw new ConfigurationException($"{ConfigPath}.gater.{list}: '{a}' is not a multiaddr"))];
        try
        {
            return new ConfiguredConnectionGater(Peers("deny-peers"), Addresses("deny-addresses"), Peers("allow-peers"), Addresses("allow-addresses"));
        }
        catch (FormatException e)
        {
            throw new ConfigurationException($"{ConfigPath}.gater: {e.Message}", e);
        }
    }

    private static ResourceLimits Limits(Config root)
    {
        try
        {
            return ResourceLimitDefaults.FromConfig(root);
        }
        catch (FormatException e)
        {
            // A bad allow-list address or peer ID: reported as configuration, like every other bad value.
            throw new ConfigurationException($"{ConfigPath}.resource-manager: {e.Message}", e);
        }
    }

    private static PrivateKey LoadIdentity(Config identity)
    {
        var type = identity.GetString("type") switch
        {
            "ed25519" => KeyType.Ed25519,
            "secp256k1" => KeyType.Secp256k1,
            "ecdsa" => KeyType.ECDSA,
            "rsa" => KeyType.RSA,
            var other => throw new ConfigurationException($"{ConfigPath}.identity.type: '{other}' is not one of ed25519, secp256k1, ecdsa, rsa"),
        };
        var file = identity.GetString("key-file");
        return string.IsNullOrEmpty(file) ? PrivateKey.Generate(type) : IdentityKeyFile.LoadOrCreate(file, type).Key;
    }

    private static IReadOnlyList<ITransport> Transports(Config section)
    {
        var tcp = TcpEngine(section.GetString("tcp.engine"), section.GetBoolean("tcp.reuse-port"));
        var maxMessage = section.GetByteSize("websocket.max-message-size") ?? 0;
        if (maxMessage is < 1024 or > int.MaxValue)
            throw new ConfigurationException($"{ConfigPath}.websocket.max-message-size must be between 1 KiB and 2 GiB, not {maxMessage}");
        var websocket = new WebSocketSettings
        {
            MaxMessageSize = (int)maxMessage,
            UpgradeTimeout = PositiveTime(section, "websocket.upgrade-timeout"),
            CloseTimeout = PositiveTime(section, "websocket.close-timeout"),
        };
        var tls = new WebSocketTlsOptions { ServerCertificate = LoadCertificate(section.GetConfig("websocket.tls")) };
        // Plain TCP first: a /ws address is never one TCP takes, and the other way round.
        return [tcp, new WebSocketTransport(tcp, websocket, tls), MemoryTransport.Instance];
    }

    private static X509Certificate2? LoadCertificate(Config tls)
    {
        var file = tls.GetString("certificate");
        if (string.IsNullOrEmpty(file))
            return null;
        var key = tls.GetString("key");
        try
        {
            if (!string.IsNullOrEmpty(key))
                return X509Certificate2.CreateFromPemFile(file, key);
            var password = tls.GetString("password");
            return X509CertificateLoader.LoadPkcs12FromFile(file, string.IsNullOrEmpty(password) ? null : password);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{ConfigPath}.websocket.tls.certificate: cannot load '{file}': {e.Message}", e);
        }
    }

    // Port reuse keeps a registry of this node's listen ports: a transport of its own per node.
    private static ITransport TcpEngine(string engine, bool reusePort) => engine switch
    {
        "socket" => reusePort ? new SocketTransport(reusePort: true) : SocketTransport.Instance,
        "akka-io" => TcpTransport.Instance,
        _ => throw new ConfigurationException($"{ConfigPath}.tcp.engine: '{engine}' is not one of socket, akka-io"),
    };

    private static MuxerFactory Muxer(string protocol) =>
        MuxerFactory.Defaults.FirstOrDefault(m => m.Protocol == protocol)
        ?? throw new ConfigurationException($"{ConfigPath}.muxers: '{protocol}' is not one of {string.Join(", ", MuxerFactory.Defaults.Select(m => m.Protocol))}");

    private static Multiaddr Address(string text) =>
        Multiaddr.TryParse(text, out var address)
            ? address
            : throw new ConfigurationException($"{ConfigPath}.listen: '{text}' is not a multiaddr");

    private static int Positive(Config section, string path)
    {
        var value = section.GetInt(path);
        return value > 0 ? value : throw new ConfigurationException($"{ConfigPath}.{path} must be positive, not {value}");
    }

    private static TimeSpan PositiveTime(Config section, string path)
    {
        var value = section.GetTimeSpan(path);
        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"{ConfigPath}.{path} must be positive, not {value}");
    }

    private static Config LoadReference()
    {
        using var stream = typeof(HostSettings).Assembly.GetManifestResourceStream("Libp2p.Host.reference.conf")
            ?? throw new InvalidOperationException("the embedded reference.conf is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
