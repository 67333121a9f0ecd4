using Libp2p.Actors.Network;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// The connection manager's bookkeeping, without the actor: peers with their connections, tags,
/// decaying values and protections, and the choice of whom a trim closes. One thread at a time
/// (the actor's); kept apart so the choice can be tested and measured alone.
/// </summary>
internal sealed class ConnectionBook
{
    private readonly Dictionary<PeerId, PeerEntry> _peers = new();
    private readonly Dictionary<PeerId, HashSet<string>> _protected = new();
    private readonly Dictionary<string, DecayingTag> _decaying = new(StringComparer.Ordinal);

    /// <summary>One peer: tags set before its first connection make it <see cref="Temporary"/> until that connection comes.</summary>
    internal sealed class PeerEntry(PeerId peer, DateTimeOffset firstSeen, bool temporary)
    {
        public PeerId Peer { get; } = peer;
        public DateTimeOffset FirstSeen { get; set; } = firstSeen;
        public bool Temporary { get; set; } = temporary;
        public Dictionary<string, int> Tags { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, DecayingValue> Decaying { get; } = new(StringComparer.Ordinal);
        public int Value { get; set; }
        public Dictionary<ConnectionId, (ConnectionInfo Info, DateTimeOffset Opened)> Connections { get; } = new();
    }

    private sealed class DecayingTag(string name, TimeSpan interval, DecayFunction decay, BumpFunction bump, DateTimeOffset nextDue)
    {
        public string Name { get; } = name;
        public TimeSpan Interval { get; } = interval;
        public DecayFunction Decay { get; } = decay;
        public BumpFunction Bump { get; } = bump;
        public DateTimeOffset NextDue { get; set; } = nextDue;
        public HashSet<PeerId> Peers { get; } = [];
    }

    /// <summary>A candidate of a trim with what orders it.</summary>
    internal readonly record struct Candidate(PeerEntry Entry, bool Inbound, int Streams);

    /// <summary>What a trim would do: the peers to close, best to close first, and why the rest stays.</summary>
    internal sealed record TrimPlan(IReadOnlyList<Candidate> Close, int ConnectionsToClose, int Protected, int InGracePeriod, int PrunedTemporary, string? Skipped);

    public int ConnectionCount { get; private set; }

    public int PeerCount => _peers.Count;

    public int ProtectedPeerCount => _protected.Count;

    public bool Connected(ConnectionInfo info, DateTimeOffset now)
    {
        if (!_peers.TryGetValue(info.RemotePeer, out var entry))
            _peers[info.RemotePeer] = entry = new PeerEntry(info.RemotePeer, now, temporary: false);
        else if (entry.Temporary)
        {
            // Tags came first: the peer's age starts with its first connection, not its first tag.
            entry.Temporary = false;
            entry.FirstSeen = now;
        }
        if (!entry.Connections.TryAdd(info.Id, (info, now)))
            return false;
        ConnectionCount++;
        return true;
    }

    /// <summary>Forgets a connection; with its peer's last one the peer and its tags go too, as go-libp2p's do.</summary>
    public bool Disconnected(ConnectionInfo info)
    {
        if (!_peers.TryGetValue(info.RemotePeer, out var entry) || !entry.Connections.Remove(info.Id))
            return false;
        ConnectionCount--;
        if (entry.Connections.Count == 0)
            Forget(entry);
        return true;
    }

    private void Forget(PeerEntry entry)
    {
        _peers.Remove(entry.Peer);
        foreach (var tag in entry.Decaying.Keys)
            _decaying.GetValueOrDefault(tag)?.Peers.Remove(entry.Peer);
    }

    public IEnumerable<PeerEntry> Peers => _peers.Values;

    private PeerEntry EntryFor(PeerId peer, DateTimeOffset now)
    {
        if (!_peers.TryGetValue(peer, out var entry))
            _peers[peer] = entry = new PeerEntry(peer, now, temporary: true);
        return entry;
    }

    public int Tag(PeerId peer, string tag, int value, DateTimeOffset now)
    {
        var entry = EntryFor(peer, now);
        entry.Value += value - entry.Tags.GetValueOrDefault(tag);
        entry.Tags[tag] = value;
        return entry.Value;
    }

    public int Untag(PeerId peer, string tag)
    {
        if (!_peers.TryGetValue(peer, out var entry))
            return 0;
        if (entry.Tags.Remove(tag, out var old))
            entry.Value -= old;
        return entry.Value;
    }

    public int Upsert(PeerId peer, string tag, Func<int, int> upsert, DateTimeOffset now)
    {
        var entry = EntryFor(peer, now);
        var old = entry.Tags.GetValueOrDefault(tag);
        var value = upsert(old);
        entry.Value += value - old;
        entry.Tags[tag] = value;
        return entry.Value;
    }

    public void Protect(PeerId peer, string tag)
    {
        if (!_protected.TryGetValue(peer, out var tags))
            _protected[peer] = tags = new HashSet<string>(StringComparer.Ordinal);
        tags.Add(tag);
    }

    /// <summary>Removes one protection; true when other tags still protect the peer.</summary>
    public bool Unprotect(PeerId peer, string tag)
    {
        if (!_protected.TryGetValue(peer, out var tags))
            return false;
        tags.Remove(tag);
        if (tags.Count > 0)
            return true;
        _protected.Remove(peer);
        return false;
    }

    public bool IsProtected(PeerId peer, string? tag) =>
        _protected.TryGetValue(peer, out var tags) && (tag is null || tags.Contains(tag));

    public TagInfo? TagInfo(PeerId peer)
    {
        if (!_peers.TryGetValue(peer, out var entry))
            return null;
        var tags = new Dictionary<string, int>(entry.Tags, StringComparer.Ordinal);
        foreach (var (name, value) in entry.Decaying)
            tags[name] = value.Value;
        return new TagInfo(entry.FirstSeen, entry.Value, tags,
            entry.Connections.Values.ToDictionary(c => c.Info.RemoteAddress.ToString(), c => c.Opened));
    }

    /// <summary>Registers a decaying tag; its interval is rounded up to a multiple of <paramref name="resolution"/>.</summary>
    /// <exception cref="InvalidOperationException">A decaying tag of that name exists.</exception>
    public TimeSpan RegisterDecaying(string name, TimeSpan interval, DecayFunction decay, BumpFunction bump, TimeSpan resolution, DateTimeOffset now)
    {
        if (_decaying.ContainsKey(name))
            throw new InvalidOperationException($"a decaying tag named '{name}' is registered already");
        var steps = Math.Max(1, (interval.Ticks + resolution.Ticks - 1) / resolution.Ticks);
        var effective = TimeSpan.FromTicks(steps * resolution.Ticks);
        _decaying[name] = new DecayingTag(name, effective, decay, bump, now + effective);
        return effective;
    }

    /// <exception cref="KeyNotFoundException">No decaying tag of that name.</exception>
    public int Bump(string name, PeerId peer, int delta, DateTimeOffset now)
    {
        var tag = Decaying(name);
        var entry = EntryFor(peer, now);
        var current = entry.Decaying.GetValueOrDefault(name) ?? new DecayingValue(name, peer, 0, now, now);
        var value = tag.Bump(current, delta);
        entry.Value += value - current.Value;
        entry.Decaying[name] = current with { Value = value, LastVisit = now };
        tag.Peers.Add(peer);
        return entry.Value;
    }

    /// <exception cref="KeyNotFoundException">No decaying tag of that name.</exception>
    public int RemoveDecaying(string name, PeerId peer)
    {
        var tag = Decaying(name);
        if (!_peers.TryGetValue(peer, out var entry))
            return 0;
        if (entry.Decaying.Remove(name, out var old))
            entry.Value -= old.Value;
        tag.Peers.Remove(peer);
        return entry.Value;
    }

    /// <exception cref="KeyNotFoundException">No decaying tag of that name.</exception>
    public void CloseDecaying(string name)
    {
        var tag = Decaying(name);
        foreach (var peer in tag.Peers)
        {
            if (_peers.TryGetValue(peer, out var entry) && entry.Decaying.Remove(name, out var old))
                entry.Value -= old.Value;
        }
        _decaying.Remove(name);
    }

    private DecayingTag Decaying(string name) =>
        _decaying.TryGetValue(name, out var tag) ? tag : throw new KeyNotFoundException($"no decaying tag named '{name}' is registered");

    /// <summary>Runs one decay step of every tag due by <paramref name="now"/>; returns how many values changed or went.</summary>
    public int Decay(DateTimeOffset now)
    {
        var changed = 0;
        foreach (var tag in _decaying.Values)
        {
            if (tag.NextDue > now)
                continue;
            // A tick missed (a paused process) decays once, not once per missed interval, as go's.
            while (tag.NextDue <= now)
                tag.NextDue += tag.Interval;
            List<PeerId>? gone = null;
            foreach (var peer in tag.Peers)
            {
                if (!_peers.TryGetValue(peer, out var entry) || !entry.Decaying.TryGetValue(tag.Name, out var value))
                {
                    (gone ??= []).Add(peer);
                    continue;
                }
                var (after, remove) = tag.Decay(value, now);
                if (remove)
                {
                    entry.Decaying.Remove(tag.Name);
                    entry.Value -= value.Value;
                    (gone ??= []).Add(peer);
                    changed++;
                }
                else if (after != value.Value)
                {
                    entry.Decaying[tag.Name] = value with { Value = after };
                    entry.Value += after - value.Value;
                    changed++;
                }
            }
            if (gone is not null)
                tag.Peers.ExceptWith(gone);
        }
        return changed;
    }

    /// <summary>The candidates of a trim: peers neither protected nor younger than <paramref name="grace"/>.</summary>
    public List<PeerEntry> Candidates(DateTimeOffset now, TimeSpan grace, out int protectedConnections, out int graceConnections)
    {
        var graceStart = now - grace;
        var candidates = new List<PeerEntry>(_peers.Count);
        protectedConnections = graceConnections = 0;
        foreach (var entry in _peers.Values)
        {
            if (_protected.ContainsKey(entry.Peer))
                protectedConnections += entry.Connections.Count;
            else if (entry.FirstSeen > graceStart)
                graceConnections += entry.Connections.Count;
            else
                candidates.Add(entry);
        }
        return candidates;
    }

    /// <summary>
    /// Whom a trim closes, as go-libp2p's <c>getConnsToClose</c>: nothing while the count is at or
    /// under <paramref name="lowWater"/>; protected peers and peers younger than
    /// <paramref name="grace"/> are kept and not counted; nothing either when fewer than
    /// <paramref name="lowWater"/> connections are left to choose from; else whole peers in go's
    /// order (<see cref="Order"/>) until the candidates' connections are down to
    /// <paramref name="lowWater"/>. Temporary peers (tags, no connection) past their grace are
    /// forgotten on the way. <paramref name="streams"/> gives each connection's open streams.
    /// </summary>
    public TrimPlan PlanTrim(DateTimeOffset now, TimeSpan grace, int lowWater, Func<ConnectionId, int> streams)
    {
        if (ConnectionCount <= lowWater)
            return new TrimPlan([], 0, 0, 0, 0, $"{ConnectionCount} connections, not above the low watermark {lowWater}");
        var entries = Candidates(now, grace, out var protectedConnections, out var graceConnections);
        var candidateConnections = 0;
        var candidates = new List<Candidate>(entries.Count);
        foreach (var entry in entries)
        {
            var inbound = false;
            var count = 0;
            foreach (var (id, (info, _)) in entry.Connections)
            {
                inbound |= info.Stat.Direction == Direction.Inbound;
                count += streams(id);
            }
            candidates.Add(new Candidate(entry, inbound, count));
            candidateConnections += entry.Connections.Count;
        }
        if (candidateConnections < lowWater)
            return new TrimPlan([], 0, protectedConnections, graceConnections, 0,
                $"{ConnectionCount} connections, but only {candidateConnections} of them may be closed " +
                $"({protectedConnections} protected, {graceConnections} in their grace period), under the low watermark {lowWater}");
        candidates.Sort(Order);
        var target = candidateConnections - lowWater;
        var close = new List<Candidate>();
        var closing = 0;
        var pruned = 0;
        foreach (var candidate in candidates)
        {
            if (target <= 0)
                break;
            var entry = candidate.Entry;
            if (entry.Temporary && entry.Connections.Count == 0)
            {
                Forget(entry);
                pruned++;
                continue;
            }
            close.Add(candidate);
            closing += entry.Connections.Count;
            target -= entry.Connections.Count;
        }
        var skipped = close.Count > 0 ? null
            : $"{ConnectionCount} connections, and the {candidateConnections} of them that may be closed are not above the low watermark {lowWater}";
        return new TrimPlan(close, closing, protectedConnections, graceConnections, pruned, skipped);
    }

    /// <summary>
    /// go-libp2p's trim order (<c>SortByValueAndStreams</c>): temporary peers first, then lower
    /// value; then a peer without streams before one with; then a peer with an inbound connection
    /// before one without; then fewer streams. go leaves ties in map order; here the longest known
    /// goes first, then by peer ID, so a trim is the same every time.
    /// </summary>
    public static int Order(Candidate left, Candidate right)
    {
        if (left.Entry.Temporary != right.Entry.Temporary)
            return left.Entry.Temporary ? -1 : 1;
        if (left.Entry.Value != right.Entry.Value)
            return left.Entry.Value.CompareTo(right.Entry.Value);
        if (left.Streams != right.Streams && (left.Streams == 0 || right.Streams == 0))
            return left.Streams.CompareTo(right.Streams);
        if (left.Inbound != right.Inbound)
            return left.Inbound ? -1 : 1;
        if (left.Streams != right.Streams)
            return left.Streams.CompareTo(right.Streams);
        var age = left.Entry.FirstSeen.CompareTo(right.Entry.FirstSeen);
        return age != 0 ? age : left.Entry.Peer.CompareTo(right.Entry.Peer);
    }
}
