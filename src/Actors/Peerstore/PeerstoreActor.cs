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
        Receive<PeerstoreProtocol.AddAddresses>(a =>
        {
            var record = Record(a.Peer);
            var expiry = Expiry(a.Ttl);
            foreach (var address in a.Addresses)
            {
                if (!record.Addresses.TryGetValue(address, out var current) || current.Expiry < expiry || (current.Expiry == expiry && current.Ttl < a.Ttl))
                    record.Addresses[address] = (expiry, a.Ttl);
            }
        });
        Receive<PeerstoreProtocol.UpdateTtl>(u =>
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
        Receive<PeerstoreProtocol.GetAddresses>(g => Sender.Tell(new PeerstoreProtocol.AddressesAre(g.Peer, Addresses(g.Peer))));
        Receive<PeerstoreProtocol.AddPublicKey>(k =>
        {
            if (k.Peer.Matches(k.Key))
                Record(k.Peer).Key = k.Key;
        });
        Receive<PeerstoreProtocol.GetPublicKey>(g =>
        {
            var key = _peers.GetValueOrDefault(g.Peer)?.Key ?? (g.Peer.TryExtractPublicKey(out var inlined) ? inlined : null);
            Sender.Tell(new PeerstoreProtocol.PublicKeyIs(g.Peer, key));
        });
        Receive<PeerstoreProtocol.SetProtocols>(p => Record(p.Peer).Protocols = p.Protocols.ToArray());
        Receive<PeerstoreProtocol.GetProtocols>(g => Sender.Tell(new PeerstoreProtocol.ProtocolsAre(g.Peer, _peers.GetValueOrDefault(g.Peer)?.Protocols ?? [])));
        Receive<PeerstoreProtocol.PutMetadata>(p => Record(p.Peer).Metadata[p.Key] = p.Value);
        Receive<PeerstoreProtocol.GetMetadata>(g => Sender.Tell(new PeerstoreProtocol.MetadataIs(g.Peer, g.Key, _peers.GetValueOrDefault(g.Peer)?.Metadata.GetValueOrDefault(g.Key))));
        Receive<PeerstoreProtocol.GetPeers>(_ => Sender.Tell(new PeerstoreProtocol.PeersAre(
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
        ttl >= PeerstoreProtocol.Ttl.Connected || _clock.GetUtcNow() > DateTimeOffset.MaxValue - ttl ? DateTimeOffset.MaxValue : _clock.GetUtcNow() + ttl;

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
