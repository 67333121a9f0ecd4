using Akka.Actor;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Peerstore;

/// <summary>
/// What this node knows of other peers: addresses with TTLs, public keys, protocols and metadata.
/// One actor owns it all, so readers never see a half-made update. Expired addresses are
/// dropped when read; the clock is injectable for tests.
/// </summary>
public sealed class PeerstoreActor : ReceiveActor
{
    private readonly TimeProvider _clock;
    private readonly Dictionary<PeerId, PeerRecord> _peers = new();

    private sealed class PeerRecord
    {
        public Dictionary<Multiaddr, (DateTimeOffset Expiry, TimeSpan Ttl)> Addresses { get; } = new();
        public PublicKey? Key { get; set; }
        public IReadOnlyList<string> Protocols { get; set; } = [];
        public Dictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public PeerstoreActor(TimeProvider clock)
    {
        _clock = clock;
        Receive<Peerstore.AddAddresses>(a =>
        {
            var record = Record(a.Peer);
            var expiry = Expiry(a.Ttl);
            foreach (var address in a.Addresses)
            {
                if (!record.Addresses.TryGetValue(address, out var current) || current.Expiry < expiry || (current.Expiry == expiry && current.Ttl < a.Ttl))
                    record.Addresses[address] = (expiry, a.Ttl);
            }
        });
        Receive<Peerstore.UpdateTtl>(u =>
        {
            if (!_peers.TryGetValue(u.Peer, out var record))
                return;
            var expiry = Expiry(u.Ttl);
            foreach (var (address, current) in record.Addresses.ToArray())
            {
                if (current.Ttl == u.OldTtl)
                    record.Addresses[address] = (expiry, u.Ttl);
            }
        });
        Receive<Peerstore.GetAddresses>(g => Sender.Tell(new Peerstore.AddressesAre(g.Peer, Addresses(g.Peer))));
        Receive<Peerstore.AddPublicKey>(k =>
        {
            if (k.Peer.Matches(k.Key))
                Record(k.Peer).Key = k.Key;
        });
        Receive<Peerstore.GetPublicKey>(g =>
        {
            var key = _peers.GetValueOrDefault(g.Peer)?.Key ?? (g.Peer.TryExtractPublicKey(out var inlined) ? inlined : null);
            Sender.Tell(new Peerstore.PublicKeyIs(g.Peer, key));
        });
        Receive<Peerstore.SetProtocols>(p => Record(p.Peer).Protocols = p.Protocols.ToArray());
        Receive<Peerstore.GetProtocols>(g => Sender.Tell(new Peerstore.ProtocolsAre(g.Peer, _peers.GetValueOrDefault(g.Peer)?.Protocols ?? [])));
        Receive<Peerstore.PutMetadata>(p => Record(p.Peer).Metadata[p.Key] = p.Value);
        Receive<Peerstore.GetMetadata>(g => Sender.Tell(new Peerstore.MetadataIs(g.Peer, g.Key, _peers.GetValueOrDefault(g.Peer)?.Metadata.GetValueOrDefault(g.Key))));
        Receive<Peerstore.GetPeers>(_ => Sender.Tell(new Peerstore.PeersAre(
            _peers.Where(p => p.Value.Key is not null || Addresses(p.Key).Count > 0).Select(p => p.Key).ToArray())));
    }

    /// <summary>A peerstore reading time from <paramref name="clock"/> (the system clock by default).</summary>
    public static Props Props(TimeProvider? clock = null) => Akka.Actor.Props.Create(() => new PeerstoreActor(clock ?? TimeProvider.System));

    private PeerRecord Record(PeerId peer)
    {
        if (!_peers.TryGetValue(peer, out var record))
            _peers[peer] = record = new PeerRecord();
        return record;
    }

    private DateTimeOffset Expiry(TimeSpan ttl) =>
        ttl >= Peerstore.Ttl.Connected || _clock.GetUtcNow() > DateTimeOffset.MaxValue - ttl ? DateTimeOffset.MaxValue : _clock.GetUtcNow() + ttl;

    private List<Multiaddr> Addresses(PeerId peer)
    {
        if (!_peers.TryGetValue(peer, out var record))
            return [];
        var now = _clock.GetUtcNow();
        foreach (var expired in record.Addresses.Where(a => a.Value.Expiry <= now).Select(a => a.Key).ToArray())
            record.Addresses.Remove(expired);
        return [.. record.Addresses.Keys];
    }
}
