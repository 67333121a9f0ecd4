using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// The vocabulary of the <see cref="SwarmActor"/> (the seed's <c>Network</c> and <c>Dialer</c>):
/// each command has one success reply and one failure reply, fixed by its type, and events are
/// published on the actor system's event stream.
/// </summary>
public static class SwarmProtocol
{
    /// <summary>Starts listening on each address; answered with <see cref="Listening"/> or <see cref="ListenFailed"/>.</summary>
    public sealed record Listen(IReadOnlyList<Multiaddr> Addresses);

    /// <summary>Every address is bound; <see cref="Addresses"/> are the bound ones (real ports for port 0).</summary>
    public sealed record Listening(IReadOnlyList<Multiaddr> Addresses);

    /// <summary>An address could not be bound.</summary>
    public sealed record ListenFailed(Multiaddr Address, Exception Reason);

    /// <summary>Stops listening on a bound address; answered with <see cref="ListenerClosed"/>.</summary>
    public sealed record CloseListener(Multiaddr Address);

    /// <summary>The listener is gone.</summary>
    public sealed record ListenerClosed(Multiaddr Address);

    /// <summary>Asks for the bound addresses; answered with <see cref="ListenAddressesAre"/>.</summary>
    public sealed record GetListenAddresses(bool ExpandInterfaces = false);

    /// <summary>The bound addresses, with 0.0.0.0 and :: expanded to the interfaces' addresses when asked.</summary>
    public sealed record ListenAddressesAre(IReadOnlyList<Multiaddr> Addresses);

    /// <summary>Connects to a peer, reusing a live connection; answered with <see cref="Dialed"/> or <see cref="DialFailed"/>.</summary>
    /// <param name="Peer">The peer.</param>
    /// <param name="Options">The seed's context options.</param>
    /// <param name="Addresses">Addresses to try; when given, they are all that is tried and the peerstore is not asked.</param>
    public sealed record Dial(PeerId Peer, DialOptions Options, IReadOnlyList<Multiaddr>? Addresses = null);

    /// <summary>A connection to the peer exists.</summary>
    public sealed record Dialed(ConnectionInfo Connection);

    /// <summary>No connection could be had; the reason is one of the seed's errors.</summary>
    public sealed record DialFailed(PeerId Peer, Exception Reason);

    /// <summary>Opens a stream to a peer, dialing if needed; answered with <see cref="StreamOpened"/> or <see cref="OpenStreamFailed"/>.</summary>
    public sealed record OpenStream(PeerId Peer, IReadOnlyList<string> Protocols, DialOptions Options);

    /// <summary>The stream is open and negotiated.</summary>
    public sealed record StreamOpened(StreamHandle Stream);

    /// <summary>No stream: the dial failed, or the peer supports none of the protocols.</summary>
    public sealed record OpenStreamFailed(PeerId Peer, Exception Reason);

    /// <summary>Serves a protocol's inbound streams with <paramref name="Handler"/>; answered with <see cref="HandlerSet"/>.</summary>
    public sealed record SetStreamHandler(string Protocol, StreamHandler Handler);

    /// <summary>Stops serving a protocol; answered with <see cref="HandlerSet"/>.</summary>
    public sealed record RemoveStreamHandler(string Protocol);

    /// <summary>The handler table changed.</summary>
    public sealed record HandlerSet(string Protocol);

    /// <summary>Asks which protocols have a handler; answered with <see cref="ProtocolsAre"/>.</summary>
    public sealed record GetProtocols
    {
        /// <summary>The message.</summary>
        public static GetProtocols Instance { get; } = new();
    }

    /// <summary>The protocols served, in ordinal order (what identify advertises).</summary>
    public sealed record ProtocolsAre(IReadOnlyList<string> Protocols);

    /// <summary>Closes every connection to the peer; answered with <see cref="PeerClosed"/>.</summary>
    public sealed record ClosePeer(PeerId Peer);

    /// <summary>Close was asked of each connection; <see cref="Disconnected"/> follows for each.</summary>
    public sealed record PeerClosed(PeerId Peer);

    /// <summary>Asks how connected a peer is; answered with <see cref="ConnectednessIs"/>.</summary>
    public sealed record GetConnectedness(PeerId Peer);

    /// <summary>The peer's connectedness.</summary>
    public sealed record ConnectednessIs(PeerId Peer, Connectedness Connectedness);

    /// <summary>Asks for the connected peers; answered with <see cref="PeersAre"/>.</summary>
    public sealed record GetPeers
    {
        /// <summary>The message.</summary>
        public static GetPeers Instance { get; } = new();
    }

    /// <summary>The connected peers.</summary>
    public sealed record PeersAre(IReadOnlyList<PeerId> Peers);

    /// <summary>Asks for the connections, all or to one peer; answered with <see cref="ConnsAre"/>.</summary>
    public sealed record GetConns(PeerId? Peer = null);

    /// <summary>The connections.</summary>
    public sealed record ConnsAre(IReadOnlyList<ConnectionInfo> Connections);

    /// <summary>Asks for the Swarm's peerstore (the seed's <c>Dialer.Peerstore()</c>); answered with <see cref="PeerstoreIs"/>.</summary>
    public sealed record GetPeerstore
    {
        /// <summary>The message.</summary>
        public static GetPeerstore Instance { get; } = new();
    }

    /// <summary>The peerstore actor: tell it addresses to make peers dialable.</summary>
    public sealed record PeerstoreIs(Akka.Actor.IActorRef Peerstore);

    /// <summary>Asks for every scope's usage and limit at once; answered with <see cref="ResourceSnapshotIs"/>.</summary>
    public sealed record GetResourceSnapshot
    {
        /// <summary>The message.</summary>
        public static GetResourceSnapshot Instance { get; } = new();
    }

    /// <summary>The resource scopes, system first, each with its usage and limit.</summary>
    public sealed record ResourceSnapshotIs(IReadOnlyList<Resources.ScopeSnapshot> Scopes);

    /// <summary>Asks how many connections each gater hook refused; answered with <see cref="GaterCountsAre"/>.</summary>
    public sealed record GetGaterCounts
    {
        /// <summary>The message.</summary>
        public static GetGaterCounts Instance { get; } = new();
    }

    /// <summary>Refusals so far by hook; hooks that refused nothing are absent.</summary>
    public sealed record GaterCountsAre(IReadOnlyDictionary<GaterHook, long> Refused);

    /// <summary>Closes listeners, then connections and their streams; answered with <see cref="Closed"/> once all are gone.</summary>
    public sealed record Close
    {
        /// <summary>The message.</summary>
        public static Close Instance { get; } = new();
    }

    /// <summary>The network is closed: no listener, connection or stream is left.</summary>
    public sealed record Closed
    {
        /// <summary>The message.</summary>
        public static Closed Instance { get; } = new();
    }

    /// <summary>
    /// An event of one node, published on the actor system's event stream. Every kind names the
    /// node it happened to, so a subscriber of several nodes in one system tells them apart by
    /// <see cref="LocalPeer"/>; subscribe to this type for every kind, or to one kind alone.
    /// </summary>
    /// <param name="LocalPeer">The node the event happened to.</param>
    public abstract record NodeEvent(PeerId LocalPeer);

    /// <summary>Event: a connection opened (the seed's <c>Notifiee.Connected</c>); published before its <see cref="Disconnected"/>.</summary>
    public sealed record Connected(ConnectionInfo Connection) : NodeEvent(Connection.LocalPeer);

    /// <summary>Event: a connection closed (the seed's <c>Notifiee.Disconnected</c>); exactly once per connection.</summary>
    public sealed record Disconnected(ConnectionInfo Connection) : NodeEvent(Connection.LocalPeer);

    /// <summary>Event: the network listens on an address (the seed's <c>Notifiee.Listen</c>).</summary>
    public sealed record ListenStarted(PeerId LocalPeer, Multiaddr Address) : NodeEvent(LocalPeer);

    /// <summary>Event: a handler was set or removed; <see cref="Protocols"/> is the new set (identify pushes it to peers).</summary>
    public sealed record ProtocolsChanged(PeerId LocalPeer, IReadOnlyList<string> Protocols) : NodeEvent(LocalPeer);

    /// <summary>
    /// Event: this node's gater refused a connection at <paramref name="Hook"/>, with its reason; the
    /// dialer of an outbound connection gets the same reason in a <see cref="ConnectionGatedException"/>.
    /// </summary>
    public sealed record ConnectionGated(PeerId LocalPeer, GaterHook Hook, Direction Direction, PeerId? Peer, Multiaddr? Address, string Reason) : NodeEvent(LocalPeer);

    /// <summary>Event: the network stopped listening on an address (the seed's <c>Notifiee.ListenClose</c>).</summary>
    public sealed record ListenClosed(PeerId LocalPeer, Multiaddr Address) : NodeEvent(LocalPeer);
}
