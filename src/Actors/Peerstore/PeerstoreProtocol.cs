using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Peerstore;

/// <summary>The vocabulary of the <see cref="PeerstoreActor"/>: what the node knows of other peers.</summary>
public static class PeerstoreProtocol
{
    /// <summary>How long an address is kept, as go-libp2p's peerstore TTLs.</summary>
    public static class Ttl
    {
        /// <summary>
        /// An address seen on a live connection: kept while connected (go: ConnectedAddrTTL). One tick
        /// short of <see cref="Permanent"/>, as in go, so a disconnect can lower these and leave
        /// permanent addresses alone.
        /// </summary>
        public static readonly TimeSpan Connected = TimeSpan.MaxValue - TimeSpan.FromTicks(1);

        /// <summary>An address of a peer we were recently connected to (go: RecentlyConnectedAddrTTL, 15 minutes).</summary>
        public static readonly TimeSpan RecentlyConnected = TimeSpan.FromMinutes(15);

        /// <summary>An address learned from the peer itself (go: ProviderAddrTTL, 30 minutes).</summary>
        public static readonly TimeSpan Provider = TimeSpan.FromMinutes(30);

        /// <summary>An address that never expires (go: PermanentAddrTTL).</summary>
        public static readonly TimeSpan Permanent = TimeSpan.MaxValue;
    }

    /// <summary>Adds or refreshes addresses; a longer TTL wins over a shorter one.</summary>
    public sealed record AddAddresses(PeerId Peer, IReadOnlyList<Multiaddr> Addresses, TimeSpan Ttl);

    /// <summary>
    /// Gives the addresses of a peer that were added with <paramref name="OldTtl"/> the TTL
    /// <paramref name="Ttl"/> (go's <c>UpdateAddrs</c>; for example Connected to RecentlyConnected
    /// when the peer disconnects); other addresses keep theirs.
    /// </summary>
    public sealed record UpdateTtl(PeerId Peer, TimeSpan OldTtl, TimeSpan Ttl);

    /// <summary>Asks for a peer's unexpired addresses; answered with <see cref="AddressesAre"/>.</summary>
    public sealed record GetAddresses(PeerId Peer);

    /// <summary>A peer's addresses.</summary>
    public sealed record AddressesAre(PeerId Peer, IReadOnlyList<Multiaddr> Addresses);

    /// <summary>Records a peer's public key; refused (ignored) when it does not match the peer ID.</summary>
    public sealed record AddPublicKey(PeerId Peer, PublicKey Key);

    /// <summary>Asks for a peer's public key; answered with <see cref="PublicKeyIs"/>.</summary>
    public sealed record GetPublicKey(PeerId Peer);

    /// <summary>A peer's public key, if known (or extractable from its ID).</summary>
    public sealed record PublicKeyIs(PeerId Peer, PublicKey? Key);

    /// <summary>Replaces a peer's supported protocols.</summary>
    public sealed record SetProtocols(PeerId Peer, IReadOnlyList<string> Protocols);

    /// <summary>Asks for a peer's supported protocols; answered with <see cref="ProtocolsAre"/>.</summary>
    public sealed record GetProtocols(PeerId Peer);

    /// <summary>A peer's supported protocols.</summary>
    public sealed record ProtocolsAre(PeerId Peer, IReadOnlyList<string> Protocols);

    /// <summary>Stores a metadata value (agent version, protocol version, …).</summary>
    public sealed record PutMetadata(PeerId Peer, string Key, object Value);

    /// <summary>Asks for a metadata value; answered with <see cref="MetadataIs"/>.</summary>
    public sealed record GetMetadata(PeerId Peer, string Key);

    /// <summary>A metadata value, if stored.</summary>
    public sealed record MetadataIs(PeerId Peer, string Key, object? Value);

    /// <summary>Asks for every peer with an unexpired address or a key; answered with <see cref="PeersAre"/>.</summary>
    public sealed record GetPeers
    {
        /// <summary>The message.</summary>
        public static GetPeers Instance { get; } = new();
    }

    /// <summary>The known peers.</summary>
    public sealed record PeersAre(IReadOnlyList<PeerId> Peers);

    /// <summary>The Swarm's word that this node has a connection to the peer again: what the store holds of it stays.</summary>
    public sealed record PeerConnected(PeerId Peer);

    /// <summary>
    /// The Swarm's word that the node's last connection to the peer closed: unless it connects again
    /// within the store's grace period, its key, protocols and metadata are forgotten (go-libp2p's
    /// peerstore manager); its connected addresses drop to <see cref="Ttl.RecentlyConnected"/>, and
    /// its addresses stay until their TTLs end.
    /// </summary>
    public sealed record PeerDisconnected(PeerId Peer);

    /// <summary>Asks how many peers the store holds anything of; answered with <see cref="PeerCountIs"/>.</summary>
    public sealed record GetPeerCount
    {
        /// <summary>The message.</summary>
        public static GetPeerCount Instance { get; } = new();
    }

    /// <summary>How many peers the store holds anything of (addresses, expired or not, a key, protocols or metadata).</summary>
    public sealed record PeerCountIs(int Peers);
}
