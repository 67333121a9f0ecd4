using Libp2p.Actors.Network;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// The vocabulary of the <see cref="ConnectionManagerActor"/> (go-libp2p's <c>ConnManager</c> and
/// <c>Decayer</c>). Send these to the Swarm, which hands them to its connection manager with the
/// sender kept; each has one reply, fixed by its type. A Swarm without a connection manager
/// answers every one with <see cref="NoConnectionManager"/>.
/// </summary>
public static class ConnectionManagerProtocol
{
    /// <summary>A message for the connection manager: the Swarm forwards every one.</summary>
    public interface ICommand;

    /// <summary>Sets <paramref name="Tag"/> of <paramref name="Peer"/> to <paramref name="Value"/> (go's <c>TagPeer</c>); answered with <see cref="PeerValueIs"/>.</summary>
    /// <remarks>A peer not connected yet is remembered until its first connection, or until a trim past its grace period.</remarks>
    public sealed record TagPeer(PeerId Peer, string Tag, int Value) : ICommand;

    /// <summary>Removes a tag (go's <c>UntagPeer</c>); answered with <see cref="PeerValueIs"/>.</summary>
    public sealed record UntagPeer(PeerId Peer, string Tag) : ICommand;

    /// <summary>Sets a tag to what <paramref name="Upsert"/> makes of its current value, 0 if unset (go's <c>UpsertTag</c>); answered with <see cref="PeerValueIs"/>.</summary>
    public sealed record UpsertTag(PeerId Peer, string Tag, Func<int, int> Upsert) : ICommand;

    /// <summary>The peer's value (the sum of its tags, decaying ones included) after the change; 0 for a peer the manager does not know.</summary>
    public sealed record PeerValueIs(PeerId Peer, int Value);

    /// <summary>Keeps every connection of the peer from trims while any protection tag is on it (go's <c>Protect</c>); answered with <see cref="ProtectionIs"/>.</summary>
    public sealed record Protect(PeerId Peer, string Tag) : ICommand;

    /// <summary>Removes one protection tag (go's <c>Unprotect</c>); answered with <see cref="ProtectionIs"/>: whether other tags still protect the peer.</summary>
    public sealed record Unprotect(PeerId Peer, string Tag) : ICommand;

    /// <summary>Asks whether the peer is protected under <paramref name="Tag"/>, or under any tag when it is null (go's <c>IsProtected</c>); answered with <see cref="ProtectionIs"/>.</summary>
    public sealed record IsProtected(PeerId Peer, string? Tag = null) : ICommand;

    /// <summary>Whether the peer is protected.</summary>
    public sealed record ProtectionIs(PeerId Peer, bool Protected);

    /// <summary>
    /// Trims now, whatever the count and the silence period (go's <c>TrimOpenConns</c>); a trim
    /// already running is joined instead. Answered with <see cref="Trimmed"/>, the same event the
    /// event stream gets.
    /// </summary>
    public sealed record TrimOpenConns : ICommand
    {
        /// <summary>The message.</summary>
        public static TrimOpenConns Instance { get; } = new();
    }

    /// <summary>Asks what the manager knows of a peer (go's <c>GetTagInfo</c>); answered with <see cref="TagInfoIs"/>.</summary>
    public sealed record GetTagInfo(PeerId Peer) : ICommand;

    /// <summary>The peer's tags, or null when the manager does not know it.</summary>
    public sealed record TagInfoIs(PeerId Peer, TagInfo? Info);

    /// <summary>Asks for the manager's settings and counts (go's <c>GetInfo</c>); answered with <see cref="InfoIs"/>.</summary>
    public sealed record GetInfo : ICommand
    {
        /// <summary>The message.</summary>
        public static GetInfo Instance { get; } = new();
    }

    /// <summary>The manager's settings, counts, and its last trim.</summary>
    public sealed record InfoIs(ConnectionManagerInfo Info);

    /// <summary>
    /// Registers a tag whose values decay every <paramref name="Interval"/> (rounded up to the
    /// decay resolution) by <paramref name="Decay"/> and grow by <paramref name="Bump"/> (go's
    /// <c>RegisterDecayingTag</c>); presets are in <see cref="DecayPresets"/>. Answered with
    /// <see cref="DecayingTagRegistered"/> or <see cref="DecayingTagFailed"/> (the name is taken).
    /// </summary>
    public sealed record RegisterDecayingTag(string Name, TimeSpan Interval, DecayFunction Decay, BumpFunction Bump) : ICommand;

    /// <summary>The tag exists; <paramref name="Interval"/> is the one it decays at.</summary>
    public sealed record DecayingTagRegistered(string Name, TimeSpan Interval);

    /// <summary>Bumps the peer's value under a decaying tag by <paramref name="Delta"/>; answered with <see cref="PeerValueIs"/> or <see cref="DecayingTagFailed"/>.</summary>
    public sealed record BumpDecayingTag(string Name, PeerId Peer, int Delta) : ICommand;

    /// <summary>Removes the peer's value under a decaying tag; answered with <see cref="PeerValueIs"/> or <see cref="DecayingTagFailed"/>.</summary>
    public sealed record RemoveDecayingTag(string Name, PeerId Peer) : ICommand;

    /// <summary>Closes a decaying tag, removing every peer's value under it; answered with <see cref="DecayingTagClosed"/> or <see cref="DecayingTagFailed"/>.</summary>
    public sealed record CloseDecayingTag(string Name) : ICommand;

    /// <summary>The decaying tag is gone.</summary>
    public sealed record DecayingTagClosed(string Name);

    /// <summary>A decaying tag command failed; the reason says why (a name taken, or no such tag).</summary>
    public sealed record DecayingTagFailed(string Name, Exception Reason);

    /// <summary>The Swarm was started without a connection manager; the command was not carried out.</summary>
    public sealed record NoConnectionManager(ICommand Command);

    /// <summary>
    /// Event, and the reply to <see cref="TrimOpenConns"/>: one trim, why it ran and what it did.
    /// <see cref="CountAfter"/> is what is left once the closes asked for complete; each closed
    /// connection also has its <see cref="SwarmProtocol.Disconnected"/>.
    /// </summary>
    /// <param name="LocalPeer">The node that trimmed.</param>
    /// <param name="Cause">Why the trim ran.</param>
    /// <param name="At">When.</param>
    /// <param name="CountBefore">Connections before the trim.</param>
    /// <param name="CountAfter">Connections left once the closes complete.</param>
    /// <param name="Closed">The peers closed, in the order chosen, each with what placed it there.</param>
    /// <param name="Protected">Connections kept because their peer is protected.</param>
    /// <param name="InGracePeriod">Connections kept because their peer is younger than the grace period.</param>
    /// <param name="Skipped">Why nothing was closed, when nothing was.</param>
    public sealed record Trimmed(
        PeerId LocalPeer,
        TrimCause Cause,
        DateTimeOffset At,
        int CountBefore,
        int CountAfter,
        IReadOnlyList<TrimmedPeer> Closed,
        int Protected,
        int InGracePeriod,
        string? Skipped) : SwarmProtocol.NodeEvent(LocalPeer)
    {
        /// <inheritdoc />
        public override string ToString() => Skipped is null
            ? $"trim ({Cause}): {CountBefore} -> {CountAfter} connections, closed {Closed.Count} peers, kept {Protected} protected and {InGracePeriod} in grace"
            : $"trim ({Cause}): nothing closed, {Skipped}";
    }
}

/// <summary>Why a trim ran.</summary>
public enum TrimCause
{
    /// <summary>The node held at least the high watermark's count of connections.</summary>
    HighWater,

    /// <summary><see cref="ConnectionManagerProtocol.TrimOpenConns"/> asked for it.</summary>
    Requested,
}

/// <summary>A peer a trim closed, and what placed it where it was in the order.</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Value">The sum of its tags.</param>
/// <param name="Connections">Its connections, all closed.</param>
/// <param name="Streams">Streams open on them when the trim looked.</param>
/// <param name="Inbound">Whether any of its connections was inbound.</param>
public sealed record TrimmedPeer(PeerId Peer, int Value, int Connections, int Streams, bool Inbound);

/// <summary>What the connection manager knows of a peer (go's <c>TagInfo</c>).</summary>
/// <param name="FirstSeen">When its first connection came (or its first tag, before any connection).</param>
/// <param name="Value">The sum of its tags.</param>
/// <param name="Tags">Each tag's value, decaying tags included.</param>
/// <param name="Connections">When each of its connections opened, by remote address.</param>
public sealed record TagInfo(DateTimeOffset FirstSeen, int Value, IReadOnlyDictionary<string, int> Tags, IReadOnlyDictionary<string, DateTimeOffset> Connections);

/// <summary>The connection manager's settings and counts (go's <c>CMInfo</c>).</summary>
/// <param name="Settings">Its settings.</param>
/// <param name="Connections">Connections it tracks.</param>
/// <param name="Peers">Connected peers.</param>
/// <param name="ProtectedPeers">Peers with a protection tag.</param>
/// <param name="Trims">Trims run so far, skipped ones included.</param>
/// <param name="LastTrim">The last trim, or null before the first.</param>
public sealed record ConnectionManagerInfo(ConnectionManagerSettings Settings, int Connections, int Peers, int ProtectedPeers, long Trims, ConnectionManagerProtocol.Trimmed? LastTrim);
