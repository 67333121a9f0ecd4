using Akka.Actor;
using Libp2p.Protocols.Peer;
using static Libp2p.Actors.Swarm.ConnectionManagerProtocol;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// go-libp2p's <c>ConnManager</c> and <c>Decayer</c> as async methods over the Swarm's
/// <see cref="ConnectionManagerActor"/> (<see cref="Network.NetworkClient.ConnectionManager"/>):
/// each sends one <see cref="ConnectionManagerProtocol"/> message and returns its reply.
/// </summary>
/// <exception cref="InvalidOperationException">Every method, when the Swarm has no connection manager.</exception>
public sealed class ConnectionManagerClient
{
    private static readonly TimeSpan AskLimit = TimeSpan.FromMinutes(1);
    private readonly Func<CancellationToken, Task<IActorRef>> _swarm;

    internal ConnectionManagerClient(Func<CancellationToken, Task<IActorRef>> swarm) => _swarm = swarm;

    /// <summary>Sets a tag of a peer; returns the peer's value.</summary>
    public async Task<int> TagPeerAsync(PeerId peer, string tag, int value, CancellationToken cancellationToken = default) =>
        (await AskAsync<PeerValueIs>(new TagPeer(peer, tag, value), cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>Removes a tag of a peer; returns the peer's value.</summary>
    public async Task<int> UntagPeerAsync(PeerId peer, string tag, CancellationToken cancellationToken = default) =>
        (await AskAsync<PeerValueIs>(new UntagPeer(peer, tag), cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>Sets a tag to what <paramref name="upsert"/> makes of its value; returns the peer's value.</summary>
    public async Task<int> UpsertTagAsync(PeerId peer, string tag, Func<int, int> upsert, CancellationToken cancellationToken = default) =>
        (await AskAsync<PeerValueIs>(new UpsertTag(peer, tag, upsert), cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>Protects a peer from trims under <paramref name="tag"/>.</summary>
    public Task ProtectAsync(PeerId peer, string tag, CancellationToken cancellationToken = default) =>
        AskAsync<ProtectionIs>(new Protect(peer, tag), cancellationToken);

    /// <summary>Removes one protection; returns whether other tags still protect the peer.</summary>
    public async Task<bool> UnprotectAsync(PeerId peer, string tag, CancellationToken cancellationToken = default) =>
        (await AskAsync<ProtectionIs>(new Unprotect(peer, tag), cancellationToken).ConfigureAwait(false)).Protected;

    /// <summary>Whether the peer is protected under <paramref name="tag"/>, or under any tag when null.</summary>
    public async Task<bool> IsProtectedAsync(PeerId peer, string? tag = null, CancellationToken cancellationToken = default) =>
        (await AskAsync<ProtectionIs>(new IsProtected(peer, tag), cancellationToken).ConfigureAwait(false)).Protected;

    /// <summary>Trims now (or joins the trim running); returns what it did.</summary>
    public Task<Trimmed> TrimOpenConnsAsync(CancellationToken cancellationToken = default) =>
        AskAsync<Trimmed>(TrimOpenConns.Instance, cancellationToken);

    /// <summary>What the manager knows of a peer, or null.</summary>
    public async Task<TagInfo?> GetTagInfoAsync(PeerId peer, CancellationToken cancellationToken = default) =>
        (await AskAsync<TagInfoIs>(new GetTagInfo(peer), cancellationToken).ConfigureAwait(false)).Info;

    /// <summary>The manager's settings, counts and last trim.</summary>
    public async Task<ConnectionManagerInfo> GetInfoAsync(CancellationToken cancellationToken = default) =>
        (await AskAsync<InfoIs>(GetInfo.Instance, cancellationToken).ConfigureAwait(false)).Info;

    /// <summary>Registers a decaying tag; returns the interval it decays at.</summary>
    /// <exception cref="InvalidOperationException">The name is taken.</exception>
    public async Task<TimeSpan> RegisterDecayingTagAsync(string name, TimeSpan interval, DecayFunction decay, BumpFunction bump, CancellationToken cancellationToken = default) =>
        (await AskAsync<DecayingTagRegistered>(new RegisterDecayingTag(name, interval, decay, bump), cancellationToken).ConfigureAwait(false)).Interval;

    /// <summary>Bumps a peer under a decaying tag; returns the peer's value.</summary>
    /// <exception cref="KeyNotFoundException">No such decaying tag.</exception>
    public async Task<int> BumpDecayingTagAsync(string name, PeerId peer, int delta, CancellationToken cancellationToken = default) =>
        (await AskAsync<PeerValueIs>(new BumpDecayingTag(name, peer, delta), cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>Removes a peer's value under a decaying tag; returns the peer's value.</summary>
    /// <exception cref="KeyNotFoundException">No such decaying tag.</exception>
    public async Task<int> RemoveDecayingTagAsync(string name, PeerId peer, CancellationToken cancellationToken = default) =>
        (await AskAsync<PeerValueIs>(new RemoveDecayingTag(name, peer), cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>Closes a decaying tag.</summary>
    /// <exception cref="KeyNotFoundException">No such decaying tag.</exception>
    public Task CloseDecayingTagAsync(string name, CancellationToken cancellationToken = default) =>
        AskAsync<DecayingTagClosed>(new CloseDecayingTag(name), cancellationToken);

    private async Task<T> AskAsync<T>(ICommand command, CancellationToken cancellationToken)
    {
        var swarm = await _swarm(cancellationToken).ConfigureAwait(false);
        return await swarm.Ask(command, AskLimit, cancellationToken).ConfigureAwait(false) switch
        {
            T reply => reply,
            DecayingTagFailed failed => throw failed.Reason,
            NoConnectionManager => throw new InvalidOperationException("this Swarm has no connection manager (SwarmSettings.ConnectionManager, akka.libp2p.connection-manager.enabled)"),
            var other => throw new InvalidOperationException($"unexpected reply from the connection manager: {other}"),
        };
    }
}
