using Akka.Actor;
using Libp2p.Actors.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Network;

/// <summary>
/// The seed's <c>Network</c> for code that does not speak to actors: each method sends one message
/// to the Swarm and turns its reply into a result or the seed's error. Cancellation tokens bound
/// the wait; the Swarm's own timeouts (dial, upgrade) still apply.
/// </summary>
public sealed class NetworkClient
{
    private static readonly TimeSpan AskLimit = TimeSpan.FromMinutes(5);

    private readonly Task<IActorRef> _swarm;

    /// <summary>A client of <paramref name="swarm"/>, the Swarm of <paramref name="localPeer"/>.</summary>
    public NetworkClient(IActorRef swarm, PeerId localPeer) : this(Task.FromResult(swarm), localPeer) { }

    /// <summary>
    /// A client of a Swarm that is still being made (a host's, made by its root actor): every call
    /// waits for <paramref name="swarm"/> once, then talks to the Swarm directly.
    /// </summary>
    public NetworkClient(Task<IActorRef> swarm, PeerId localPeer)
    {
        _swarm = swarm;
        LocalPeer = localPeer;
        ConnectionManager = new ConnectionManagerClient(token => _swarm.WaitAsync(token));
    }

    /// <summary>The Swarm's connection manager (tags, protection, trims, decaying tags) as async methods.</summary>
    public ConnectionManagerClient ConnectionManager { get; }

    /// <summary>How many connections each hook of this node's gater refused.</summary>
    public async Task<IReadOnlyDictionary<GaterHook, long>> GaterCountsAsync(CancellationToken cancellationToken = default) =>
        ((SwarmProtocol.GaterCountsAre)await AskAsync(SwarmProtocol.GetGaterCounts.Instance, cancellationToken)).Refused;

    /// <summary>The Swarm actor behind this client.</summary>
    /// <exception cref="InvalidOperationException">The client was made with a Swarm that is not resolved yet.</exception>
    public IActorRef Swarm => _swarm.IsCompletedSuccessfully ? _swarm.Result : throw new InvalidOperationException("the swarm behind this client is not resolved yet");

    /// <summary>This node's peer ID (the seed's <c>LocalPeer</c>).</summary>
    public PeerId LocalPeer { get; }

    /// <summary>Starts listening on each address; returns the bound addresses (the seed's <c>Listen</c>).</summary>
    public async Task<IReadOnlyList<Multiaddr>> ListenAsync(IReadOnlyList<Multiaddr> addresses, CancellationToken cancellationToken = default) =>
        await AskAsync(new SwarmProtocol.Listen(addresses), cancellationToken) switch
        {
            SwarmProtocol.Listening l => l.Addresses,
            SwarmProtocol.ListenFailed f => throw f.Reason,
            var other => throw Unexpected(other),
        };

    /// <summary>The bound addresses (the seed's <c>ListenAddresses</c>).</summary>
    public async Task<IReadOnlyList<Multiaddr>> ListenAddressesAsync(CancellationToken cancellationToken = default) =>
        ((SwarmProtocol.ListenAddressesAre)await AskAsync(new SwarmProtocol.GetListenAddresses(), cancellationToken)).Addresses;

    /// <summary>The bound addresses with 0.0.0.0 and :: expanded (the seed's <c>InterfaceListenAddresses</c>).</summary>
    public async Task<IReadOnlyList<Multiaddr>> InterfaceListenAddressesAsync(CancellationToken cancellationToken = default) =>
        ((SwarmProtocol.ListenAddressesAre)await AskAsync(new SwarmProtocol.GetListenAddresses(true), cancellationToken)).Addresses;

    /// <summary>Connects to a peer, reusing a live connection (the seed's <c>DialPeer</c>); at <paramref name="addresses"/> if given, else at its peerstore addresses.</summary>
    public async Task<ConnectionInfo> DialPeerAsync(PeerId peer, DialOptions? options = null, IReadOnlyList<Multiaddr>? addresses = null, CancellationToken cancellationToken = default) =>
        await AskAsync(new SwarmProtocol.Dial(peer, options ?? DialOptions.Default, addresses), cancellationToken) switch
        {
            SwarmProtocol.Dialed d => d.Connection,
            SwarmProtocol.DialFailed f => throw f.Reason,
            var other => throw Unexpected(other),
        };

    /// <summary>Opens a stream negotiated to the first of <paramref name="protocols"/> the peer supports (the seed's <c>NewStream</c>).</summary>
    public async Task<StreamHandle> NewStreamAsync(PeerId peer, IReadOnlyList<string> protocols, DialOptions? options = null, CancellationToken cancellationToken = default) =>
        await AskAsync(new SwarmProtocol.OpenStream(peer, protocols, options ?? DialOptions.Default), cancellationToken) switch
        {
            SwarmProtocol.StreamOpened o => o.Stream,
            SwarmProtocol.OpenStreamFailed f => throw f.Reason,
            var other => throw Unexpected(other),
        };

    /// <summary>Serves a protocol's inbound streams with a delegate (the seed's <c>SetStreamHandler</c>).</summary>
    public Task SetStreamHandlerAsync(string protocol, Func<StreamHandle, Task> handler, CancellationToken cancellationToken = default) =>
        AskAsync(new SwarmProtocol.SetStreamHandler(protocol, StreamHandler.From(handler)), cancellationToken);

    /// <summary>Stops serving a protocol.</summary>
    public Task RemoveStreamHandlerAsync(string protocol, CancellationToken cancellationToken = default) =>
        AskAsync(new SwarmProtocol.RemoveStreamHandler(protocol), cancellationToken);

    /// <summary>Closes every connection to a peer (the seed's <c>ClosePeer</c>).</summary>
    public Task ClosePeerAsync(PeerId peer, CancellationToken cancellationToken = default) =>
        AskAsync(new SwarmProtocol.ClosePeer(peer), cancellationToken);

    /// <summary>How connected we are to a peer (the seed's <c>Connectedness</c>).</summary>
    public async Task<Connectedness> ConnectednessAsync(PeerId peer, CancellationToken cancellationToken = default) =>
        ((SwarmProtocol.ConnectednessIs)await AskAsync(new SwarmProtocol.GetConnectedness(peer), cancellationToken)).Connectedness;

    /// <summary>The connected peers (the seed's <c>Peers</c>).</summary>
    public async Task<IReadOnlyList<PeerId>> PeersAsync(CancellationToken cancellationToken = default) =>
        ((SwarmProtocol.PeersAre)await AskAsync(SwarmProtocol.GetPeers.Instance, cancellationToken)).Peers;

    /// <summary>The connections, all or to one peer (the seed's <c>Conns</c> and <c>ConnsToPeer</c>).</summary>
    public async Task<IReadOnlyList<ConnectionInfo>> ConnsAsync(PeerId? peer = null, CancellationToken cancellationToken = default) =>
        ((SwarmProtocol.ConnsAre)await AskAsync(new SwarmProtocol.GetConns(peer), cancellationToken)).Connections;

    /// <summary>Closes the network: listeners, then connections and streams; completes when all are gone (the seed's <c>Close</c>).</summary>
    public Task CloseAsync(CancellationToken cancellationToken = default) => AskAsync(SwarmProtocol.Close.Instance, cancellationToken);

    private async Task<object> AskAsync(object message, CancellationToken cancellationToken)
    {
        var swarm = await _swarm.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await swarm.Ask(message, AskLimit, cancellationToken).ConfigureAwait(false);
    }

    private static InvalidOperationException Unexpected(object reply) => new($"unexpected reply from the swarm: {reply}");
}
