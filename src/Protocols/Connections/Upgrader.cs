using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Connections;

/// <summary>What every connection of a node shares: who it is and what it offers.</summary>
/// <param name="Identity">The node's identity key.</param>
/// <param name="Muxers">The muxers offered, in order of preference (default yamux, then mplex).</param>
/// <param name="Stage">Limits of each connection stage, the upgrade timeout among them.</param>
/// <param name="Memory">Where muxers charge the memory a remote makes them hold (window growth, partly received frames, unread mplex data); per connection.</param>
/// <param name="Security">The security protocols offered, in order of preference (default <see cref="SecurityProtocols.Defaults"/>: Noise, then TLS).</param>
public sealed record UpgradeSettings(PrivateKey Identity, IReadOnlyList<MuxerFactory>? Muxers = null, ConnectionStageSettings? Stage = null, Muxing.IMemoryAccount? Memory = null,
    IReadOnlyList<string>? Security = null);

/// <summary>A connection that is being (or has been) upgraded.</summary>
/// <param name="Transport">Completes with both ends' addresses once the transport connected.</param>
/// <param name="Connection">The handle: <see cref="MuxedConnection.Upgraded"/> completes when it is secured and muxed.</param>
public sealed record UpgradingConnection(Task<TransportConnection> Transport, MuxedConnection Connection);

/// <summary>
/// Joins a transport's byte flow to a <see cref="ConnectionStage"/>: TCP or memory bytes in,
/// a secured, muxed connection out. The graph runs on the given materializer, so it stops with
/// whatever owns that materializer.
/// </summary>
public static class Upgrader
{
    /// <summary>Dials <paramref name="address"/> and upgrades the connection, as the dialer unless <paramref name="initiator"/> says otherwise.</summary>
    /// <param name="system">The actor system the transport uses.</param>
    /// <param name="materializer">Runs the connection's graph.</param>
    /// <param name="transport">The transport that dials.</param>
    /// <param name="address">Where to dial.</param>
    /// <param name="settings">Identity, muxers and security offered.</param>
    /// <param name="expectedRemote">The peer meant; another fails the handshake.</param>
    /// <param name="connectTimeout">How long the transport's connect may take (default 10 s).</param>
    /// <param name="initiator">
    /// Whether this side starts multistream, security and muxer negotiation. A dial is the
    /// initiator, except in a simultaneous open (hole punching), where both sides dial and each TCP
    /// connection is outbound on both ends: there the side that is not the simultaneous connect's
    /// client responds (go's <c>isServer = !simConnectIsClient</c>).
    /// </param>
    public static UpgradingConnection Dial(ActorSystem system, IMaterializer materializer, ITransport transport, Multiaddr address,
        UpgradeSettings settings, PeerId? expectedRemote = null, TimeSpan? connectTimeout = null, bool initiator = true)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var stage = new ConnectionStage(() => new ConnectionCore(initiator, settings.Identity, expectedRemote, settings.Muxers, settings.Memory, settings.Security), settings.Stage);
        var (connected, connection) = transport.Dial(system, address, connectTimeout ?? TimeSpan.FromSeconds(10))
            .JoinMaterialized(Flow.FromGraph(stage), Keep.Both)
            .Run(materializer);
        // A dial that fails before any byte moved fails the handle too, with the transport's reason.
        connected.ContinueWith(t => connection.Abort(t.Exception!.GetBaseException()), TaskContinuationOptions.OnlyOnFaulted);
        return new UpgradingConnection(connected, connection);
    }

    /// <summary>Upgrades an accepted connection as the listener.</summary>
    public static MuxedConnection Accept(IMaterializer materializer, InboundConnection inbound, UpgradeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        ArgumentNullException.ThrowIfNull(settings);
        var stage = new ConnectionStage(() => new ConnectionCore(false, settings.Identity, null, settings.Muxers, settings.Memory, settings.Security), settings.Stage);
        return inbound.Flow.JoinMaterialized(Flow.FromGraph(stage), Keep.Right).Run(materializer);
    }

    /// <summary>Listens on <paramref name="address"/>, upgrading every inbound connection and handing it to <paramref name="accepted"/>.</summary>
    /// <returns>The bound listener.</returns>
    public static Task<TransportListener> Listen(ActorSystem system, IMaterializer materializer, ITransport transport, Multiaddr address,
        UpgradeSettings settings, Action<MuxedConnection, TransportConnection> accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        return Listen(system, materializer, transport, address, inbound => accepted(Accept(materializer, inbound, settings), inbound.Addresses));
    }

    /// <summary>
    /// Listens on <paramref name="address"/> and hands every inbound connection, not yet upgraded, to
    /// <paramref name="accepted"/>, which upgrades it with <see cref="Accept"/> and settings of its
    /// own: per connection, e.g. a memory account over the connection's resource scope.
    /// </summary>
    /// <returns>The bound listener.</returns>
    public static Task<TransportListener> Listen(ActorSystem system, IMaterializer materializer, ITransport transport, Multiaddr address,
        Action<InboundConnection> accepted)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(accepted);
        return transport.Listen(system, address)
            .To(Sink.ForEach(accepted))
            .Run(materializer);
    }
}
