using Akka.Actor;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Peerstore;

/// <summary>
/// What this node knows of other peers: addresses with TTLs, public keys, protocols and metadata.
/// One actor owns it all, so readers never see a half-made update. A peer the node is no longer
/// connected to is forgotten (key, protocols, metadata) once it has stayed away for the grace
/// period, as go-libp2p's peerstore manager does, and a record goes altogether when its addresses
/// have expired too: a node meets peers for weeks, and a peer with a fresh key per connection would
/// otherwise grow the store for good. A sweep timer runs only while something is due to go.
/// </summary>
public sealed class PeerstoreActor : ReceiveActor, IWithTimers
{
    /// <summary>How long a disconnected peer is remembered by default (go-libp2p's peerstore manager: one minute).</summary>
    public static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _clock;
    private readonly TimeSpan _gracePeriod;
    private readonly Dictionary<PeerId, PeerRecord> _peers = new();
    private readonly Dictionary<PeerId, DateTimeOffset> _disconnected = new();
    private DateTimeOffset? _sweepDue;

    private sealed record Sweep;

    private sealed class PeerRecord
    {
        public Dictionary<Multiaddr, (DateTimeOffset Expiry, TimeSpan Ttl)> Addresses { get; } = new();
        public PublicKey? Key { get; set; }
        public IReadOnlyList<string> Protocols { get; set; } = [];
        public Dictionary<string, object> Metadata { get; } = new(StringComparer.Ordinal);

        public bool IsEmpty => Addresses.Count == 0 && Key is null && Protocols.Count == 0 && Metadata.Count == 0;

        public void Forget()
        {
            Key = null;
            Protocols = [];
            Metadata.Clear();
        }
    }

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public PeerstoreActor(TimeProvider clock, TimeSpan gracePeriod)
    {
        _clock = clock;
        _gracePeriod = gracePeriod;
        Receive<PeerstoreProtocol.AddAddresses>(a =>
        {
            var record = Record(a.Peer);
            var expiry = Expiry(a.Ttl);
            foreach (var address in a.Addresses)
            {
                if (!record.Addresses.TryGetValue(address, out var current) || current.Expiry < expiry || (current.Expiry == expiry && current.Ttl < a.Ttl))
                    record.Addresses[address] = (expiry, a.Ttl);
            }
            SweepBy(expiry);
        });
        Receive<PeerstoreProtocol.UpdateTtl>(u => UpdateTtl(u.Peer, u.OldTtl, u.Ttl));
        Receive<PeerstoreProtocol.PeerConnected>(c => _disconnected.Remove(c.Peer));
        Receive<PeerstoreProtocol.PeerDisconnected>(d =>
        {
            // The addresses a connection gave are kept for a while after it (go: UpdateAddrs from
            // ConnectedAddrTTL to RecentlyConnectedAddrTTL), the rest of what we know for the grace period.
            UpdateTtl(d.Peer, PeerstoreProtocol.Ttl.Connected, PeerstoreProtocol.Ttl.RecentlyConnected);
            var now = _clock.GetUtcNow();
            _disconnected[d.Peer] = now;
            SweepBy(now + _gracePeriod);
        });
        Receive<Sweep>(_ => SweepNow());
        Receive<PeerstoreProtocol.GetPeerCount>(_ => Sender.Tell(new PeerstoreProtocol.PeerCountIs(_peers.Count)));
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

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// A peerstore reading time from <paramref name="clock"/> (the system clock by default) that
    /// forgets a disconnected peer after <paramref name="gracePeriod"/> (<see cref="DefaultGracePeriod"/> by default).
    /// </summary>
    public static Props Props(TimeProvider? clock = null, TimeSpan? gracePeriod = null)
    {
        var grace = gracePeriod ?? DefaultGracePeriod;
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero, nameof(gracePeriod));
        return Akka.Actor.Props.Create(() => new PeerstoreActor(clock ?? TimeProvider.System, grace));
    }

    private void UpdateTtl(PeerId peer, TimeSpan oldTtl, TimeSpan ttl)
    {
        if (!_peers.TryGetValue(peer, out var record))
            return;
        var expiry = Expiry(ttl);
        foreach (var (address, current) in record.Addresses.ToArray())
        {
            if (current.Ttl == oldTtl)
                record.Addresses[address] = (expiry, ttl);
        }
        SweepBy(expiry);
    }

    /// <summary>Makes sure a sweep comes by <paramref name="due"/>; a time that never comes (a permanent address) needs none.</summary>
    private void SweepBy(DateTimeOffset due)
    {
        if (due == DateTimeOffset.MaxValue || _sweepDue is { } pending && pending <= due)
            return;
        _sweepDue = due;
        // At least a second apart (or the grace period, if shorter): many peers leaving at about
        // the same time go in one sweep, not one wake-up each.
        var floor = _gracePeriod < TimeSpan.FromSeconds(1) ? _gracePeriod : TimeSpan.FromSeconds(1);
        var wait = due - _clock.GetUtcNow();
        Timers.StartSingleTimer(nameof(Sweep), new Sweep(), wait > floor ? wait : floor);
    }

    private void SweepNow()
    {
        _sweepDue = null;
        var now = _clock.GetUtcNow();
        foreach (var (peer, at) in _disconnected.ToArray())
        {
            if (now - at < _gracePeriod)
                continue;
            _disconnected.Remove(peer);
            if (_peers.TryGetValue(peer, out var record))
                record.Forget();
        }
        var next = DateTimeOffset.MaxValue;
        foreach (var (peer, record) in _peers.ToArray())
        {
            foreach (var (address, (expiry, _)) in record.Addresses.ToArray())
            {
                if (expiry <= now)
                    record.Addresses.Remove(address);
                else if (expiry < next)
                    next = expiry;
            }
            if (record.IsEmpty)
                _peers.Remove(peer);
        }
        foreach (var at in _disconnected.Values)
        {
            if (at + _gracePeriod < next)
                next = at + _gracePeriod;
        }
        SweepBy(next);
    }

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
