using Libp2p.Actors.Connections;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Actors.Swarm;

/// <summary>What a Swarm is made of; immutable, overridden with <c>with { … }</c>.</summary>
/// <param name="Identity">The node's identity key.</param>
public sealed record SwarmSettings(PrivateKey Identity)
{
    /// <summary>
    /// The transports, tried in order for each address (default TCP on the socket engine,
    /// WebSockets over it, then memory; <see cref="TcpTransport"/> is the Akka.IO engine, HOCON
    /// <c>akka.libp2p.tcp.engine</c>).
    /// </summary>
    public IReadOnlyList<ITransport> Transports { get; init; } = [SocketTransport.Instance, WebSocketTransport.Instance, MemoryTransport.Instance];

    /// <summary>The muxers offered, in order of preference (default yamux, then mplex).</summary>
    public IReadOnlyList<MuxerFactory> Muxers { get; init; } = MuxerFactory.Defaults;

    /// <summary>
    /// The security protocols offered, in order of preference (default <c>/noise</c>, then
    /// <c>/tls/1.0.0</c>, as go-libp2p); a dialer gets its first one the listener also speaks.
    /// </summary>
    public IReadOnlyList<string> Security { get; init; } = SecurityProtocols.Defaults;

    /// <summary>Limits of each connection stage, the upgrade timeout among them.</summary>
    public ConnectionStageSettings Connection { get; init; } = ConnectionStageSettings.Default;

    /// <summary>The deadline and the per-connection cap of streams negotiating their protocol.</summary>
    public StreamLimits Streams { get; init; } = StreamLimits.Default;

    /// <summary>How many addresses of one peer are dialed at once.</summary>
    public int DialParallelism { get; init; } = 4;

    /// <summary>The first backoff after a failed dial; it doubles per failure, as go-libp2p's (5 s base).</summary>
    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest backoff (go-libp2p: 5 minutes).</summary>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Accounts every connection and stream (the seed's <c>ResourceManager</c>); go-libp2p's scaling
    /// limits by default. The Swarm owns it: when the Swarm stops it disposes it, so its meter
    /// stops publishing.
    /// </summary>
    public ResourceManager Resources { get; init; } = new(ResourceLimitDefaults.Scaled());

    /// <summary>
    /// Keeps the connection count between watermarks (<see cref="ConnectionManagerActor"/>, a child
    /// of the Swarm); none when null, the default for a Swarm built in code. A host reads it from
    /// <c>akka.libp2p.connection-manager</c>.
    /// </summary>
    public ConnectionManagerSettings? ConnectionManager { get; init; }

    /// <summary>Vetoes peers and addresses at each stage of a connection (go-libp2p's <c>ConnectionGater</c>); none when null.</summary>
    public IConnectionGater? Gater { get; init; }

    /// <summary>The clock, injectable so backoff is testable without waiting.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>How long the peerstore keeps a disconnected peer's key, protocols and metadata (go-libp2p's peerstore manager: one minute).</summary>
    public TimeSpan PeerstoreGracePeriod { get; init; } = Peerstore.PeerstoreActor.DefaultGracePeriod;

    // Without a memory account: the listener and the dial give each connection one over its own
    // scope (opened before the upgrade), so window growth counts against that connection.
    internal UpgradeSettings Upgrade => new(Identity, Muxers, Connection, Security: Security);
}
