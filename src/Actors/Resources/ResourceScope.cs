using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Resources;

/// <summary>
/// A scope with an end (the seed's <c>ResourceScopeSpan</c>): a handle on its
/// <see cref="ScopeSpanActor"/>. What is reserved in it charges every scope above it, all or
/// nothing; <see cref="Done"/> gives everything back and closes it, as does its actor stopping for
/// any reason. For the <see cref="ResourceManager.Null"/> manager there is no actor and every call
/// returns at once.
/// </summary>
public class ResourceScopeSpan : IDisposable
{
    private volatile bool _done;
    private readonly Answers? _answers;
    private readonly ScopeEnd? _end;

    internal ResourceScopeSpan(IActorRef? actor, Answers? answers, string name, ScopeEnd? end)
    {
        Actor = actor;
        _answers = answers;
        Name = name;
        _end = end;
    }

    /// <summary>Tells the scope's actor a request built around its answer, and returns the answer.</summary>
    private protected Task<T> Request<T>(Func<IAnswer, object> request)
    {
        var answer = _answers!.New<T>();
        Actor!.Tell(request(answer));
        RefuseIfEnded(answer);
        return answer.Task;
    }

    /// <summary>
    /// A request told to an actor that has stopped goes to dead letters, and its answer would fail
    /// only when the manager gives up on it, as a timeout: it is refused now, as closed. Checked
    /// after the request was told: an actor that stopped before could not take it, and one that
    /// took it has answered already (failing an answered request changes nothing), or lost the
    /// answer with its end.
    /// </summary>
    private void RefuseIfEnded(IAnswer answer)
    {
        if (_end is { Ended: true })
            answer.Fail(new ResourceScopeClosedException(Name));
    }

    /// <summary>The scope's actor; null for the <see cref="ResourceManager.Null"/> manager.</summary>
    public IActorRef? Actor { get; }

    /// <summary>The scope's path in the DAG, e.g. <c>transient/conn-4</c>, <c>peer:12D3…/conn-4</c>, <c>peer:12D3…/stream-9</c>.</summary>
    public string Name { get; private protected set; }

    /// <summary>Reserves memory here and above, if every scope's priority rule allows it (the seed's <c>ReserveMemory</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">A scope refused; the exception names it, and nothing stays reserved.</exception>
    public Task ReserveMemoryAsync(int size, byte priority)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ThrowIfDone();
        if (Actor is null)
            return Task.CompletedTask;
        var answer = _answers!.New<ScopeSpanActor.MemoryReserved>();
        Actor.Tell(new ScopeSpanActor.ReserveMemory(size, priority) { Answer = answer });
        RefuseIfEnded(answer);
        return answer.Task;
    }

    /// <summary>Gives back memory reserved with <see cref="ReserveMemoryAsync"/> (the seed's <c>ReleaseMemory</c>).</summary>
    public void ReleaseMemory(int size) => Actor?.Tell(new ScopeSpanActor.ReleaseMemory(size));

    /// <summary>The scope's usage (the seed's <c>Stat</c>): what it holds itself and what its spans hold.</summary>
    public async Task<ScopeStat> StatAsync() => Actor is null || _done || _end is { Ended: true }
        ? ScopeStat.Zero
        : (await Actor.Ask<ScopeProtocol.StatIs>(ScopeProtocol.GetStat.Instance, ResourceManager.AnswerTimeout).ConfigureAwait(false)).Scope.Usage;

    /// <summary>A span under this scope: what it reserves is released by its <see cref="Done"/> (the seed's <c>BeginSpan</c>).</summary>
    public async Task<ResourceScopeSpan> BeginSpanAsync()
    {
        ThrowIfDone();
        if (Actor is null)
            return new ResourceScopeSpan(null, null, $"{Name}/span", null);
        var opened = await Request<ScopeSpanActor.Opened>(a => new ScopeSpanActor.BeginSpan { Answer = a }).ConfigureAwait(false);
        return new ResourceScopeSpan(opened.Scope, _answers, opened.Name, opened.End);
    }

    /// <summary>
    /// Closes the scope when <paramref name="owner"/> stops (and no longer when its previous owner
    /// does): the actor that holds the connection or stream now.
    /// </summary>
    public void Adopt(IActorRef owner) => Actor?.Tell(new ScopeSpanActor.Adopt(owner));

    /// <summary>Gives back everything the scope holds, and closes it (the seed's <c>Done</c>).</summary>
    public void Done()
    {
        _done = true;
        Actor?.Tell(ScopeSpanActor.Done.Instance);
    }

    /// <summary>Whether <see cref="Done"/> was called on this handle.</summary>
    public bool IsDone => _done;

    /// <exception cref="ResourceScopeClosedException">The scope is done, or its actor stopped (its owner did).</exception>
    private protected void ThrowIfDone()
    {
        if (_done || _end is { Ended: true })
            throw new ResourceScopeClosedException(Name);
    }

    /// <summary>The same as <see cref="Done"/>.</summary>
    public void Dispose()
    {
        Done();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// A connection's scope (the seed's <c>ConnManagementScope</c>): it counts against the transient
/// scope until <see cref="SetPeerAsync"/>, then against its peer's scope. An allow-listed
/// connection counts against the allow-listed transient and system scopes instead.
/// </summary>
public sealed class ConnectionManagementScope : ResourceScopeSpan
{
    private readonly MemoryLease? _lease;

    internal ConnectionManagementScope(IActorRef? actor, Answers? answers, string name, MemoryLease? lease, bool allowlisted, ScopeEnd? end) : base(actor, answers, name, end)
    {
        _lease = lease;
        Allowlisted = allowlisted;
    }

    /// <summary>
    /// Starts the lease the connection's muxer charges memory a peer makes it hold to, without
    /// waiting (window growth, partly received frames, unread mplex data): the scope's actor
    /// reserves a first 384 KiB through its path now, while the connection is upgraded, and more
    /// as the muxer takes it (null for the <see cref="ResourceManager.Null"/> manager).
    /// </summary>
    public IMemoryAccount? LeaseMemory()
    {
        // As much as one read may take: an mplex peer's first frames can arrive in the very read
        // that ends the upgrade, before the connection could wait for more to be approved.
        if (_lease is { Granted: 0 })
            Actor?.Tell(new ScopeSpanActor.LeaseLow(ScopeSpanActor.FirstLease));
        return _lease;
    }

    /// <summary>The peer's scope once <see cref="SetPeerAsync"/> was called (the seed's <c>PeerScope</c>), e.g. <c>peer:12D3…</c>.</summary>
    public string? PeerScope { get; private set; }

    /// <summary>Whether the connection is counted in the allow-listed scopes rather than the ordinary ones.</summary>
    public bool Allowlisted { get; private set; }

    /// <summary>Moves the connection from the transient scope to <paramref name="peer"/>'s (the seed's <c>SetPeer</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">
    /// The peer's scope cannot take the connection, or it was allow-listed for other peers only and the
    /// ordinary scopes cannot take it; it stays where it was.
    /// </exception>
    public async Task SetPeerAsync(PeerId peer)
    {
        ThrowIfDone();
        if (Actor is null)
        {
            PeerScope = $"peer:{peer}";
            return;
        }
        var set = await Request<ScopeSpanActor.PeerSet>(a => new ScopeSpanActor.SetPeer(peer) { Answer = a }).ConfigureAwait(false);
        (PeerScope, Name, Allowlisted) = (set.Scope, set.Name, set.Allowlisted);
    }
}

/// <summary>
/// A stream's scope (the seed's <c>StreamManagementScope</c>): it counts against its peer and the
/// transient scope until <see cref="SetProtocolAsync"/> moves it to its protocol's scope; a
/// service, once set, is charged too.
/// </summary>
public sealed class StreamManagementScope : ResourceScopeSpan
{
    internal StreamManagementScope(IActorRef? actor, Answers? answers, string name, string peerScope, ScopeEnd? end) : base(actor, answers, name, end) => PeerScope = peerScope;

    /// <summary>The peer's scope (the seed's <c>PeerScope</c>), e.g. <c>peer:12D3…</c>.</summary>
    public string PeerScope { get; }

    /// <summary>The protocol's scope once set (the seed's <c>ProtocolScope</c>), e.g. <c>protocol:/echo/1.0.0</c>.</summary>
    public string? ProtocolScope { get; private set; }

    /// <summary>The service's scope once set (the seed's <c>ServiceScope</c>), e.g. <c>service:identify</c>.</summary>
    public string? ServiceScope { get; private set; }

    /// <summary>Moves the stream from the transient scope to <paramref name="protocol"/>'s (the seed's <c>SetProtocol</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">The protocol's scope cannot take the stream; it stays where it was.</exception>
    public async Task SetProtocolAsync(string protocol)
    {
        ThrowIfDone();
        ProtocolScope = Actor is null
            ? $"protocol:{protocol}"
            : (await Request<ScopeSpanActor.ProtocolSet>(a => new ScopeSpanActor.SetProtocol(protocol) { Answer = a }).ConfigureAwait(false)).Scope;
    }

    /// <summary>Also charges <paramref name="service"/>'s scope (the seed's <c>SetService</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">The service's scope cannot take the stream.</exception>
    public async Task SetServiceAsync(string service)
    {
        ThrowIfDone();
        ServiceScope = Actor is null
            ? $"service:{service}"
            : (await Request<ScopeSpanActor.ServiceSet>(a => new ScopeSpanActor.SetService(service) { Answer = a }).ConfigureAwait(false)).Scope;
    }
}

/// <summary>Whether a scope's actor has stopped: set as it stops, read by the scope's handles.</summary>
internal sealed class ScopeEnd
{
    private volatile bool _ended;

    public bool Ended => _ended;

    public void End() => _ended = true;
}
