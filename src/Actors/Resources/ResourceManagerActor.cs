using Akka.Actor;

namespace Libp2p.Actors.Resources;

/// <summary>
/// The resource DAG as actors (<c>rcmgr</c> under the Swarm): one <see cref="ScopeActor"/> child
/// per named scope (system, transient, the allow-listed pair, and each service, protocol and peer
/// scope while it exists), made when the scope is made and stopped when it is reclaimed idle and
/// empty. Reservations themselves are approved by the scopes' ordered-lock ledger, on the caller's
/// thread: a reservation through six scopes by message passing would cost two mailbox hops per
/// scope on every yamux window update, which the throughput aims do not allow (see docs/resources.md).
/// </summary>
public sealed class ResourceManagerActor : ReceiveActor
{
    private readonly ResourceManager _manager;
    private readonly Observer _observer;
    private readonly Dictionary<string, IActorRef> _scopes = new(StringComparer.Ordinal);
    private long _generation;

    /// <summary>Asks for the scope actors by path; answered with <see cref="ScopesAre"/>.</summary>
    public sealed record GetScopes
    {
        /// <summary>The message.</summary>
        public static GetScopes Instance { get; } = new();
    }

    /// <summary>The live scope actors by scope path.</summary>
    public sealed record ScopesAre(IReadOnlyDictionary<string, IActorRef> Scopes);

    private sealed record ScopeOpened(NamedScope Scope);
    private sealed record ScopeClosed(string Path);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ResourceManagerActor(ResourceManager manager)
    {
        _manager = manager;
        _observer = new Observer(Self);
        Receive<ScopeOpened>(o => Open(o.Scope));
        Receive<ScopeClosed>(c =>
        {
            if (_scopes.Remove(c.Path, out var scope))
                Context.Stop(scope);
        });
        Receive<GetScopes>(_ => Sender.Tell(new ScopesAre(new Dictionary<string, IActorRef>(_scopes, StringComparer.Ordinal))));
    }

    /// <summary>The scope actors of <paramref name="manager"/>.</summary>
    public static Props Props(ResourceManager manager) => Akka.Actor.Props.Create(() => new ResourceManagerActor(manager));

    /// <inheritdoc />
    protected override void PreStart()
    {
        // Made here, not through the mailbox, so a query that arrived before this start sees them.
        foreach (var scope in _manager.Attach(_observer))
            Open(scope);
    }

    /// <inheritdoc />
    protected override void PostStop() => _manager.Detach(_observer);

    private void Open(NamedScope scope)
    {
        if (_scopes.Remove(scope.Name, out var stale))
            Context.Stop(stale);
        _scopes[scope.Name] = Context.ActorOf(ScopeActor.Props(scope), ActorName(scope.Name));
    }

    // A scope made again while its old actor is still stopping needs another name.
    private string ActorName(string path) => $"{Uri.EscapeDataString(path.Replace(':', '-'))}-{++_generation}";

    private sealed class Observer(IActorRef actor) : IScopeObserver
    {
        public void Opened(NamedScope scope) => actor.Tell(new ScopeOpened(scope));

        public void Closed(string path) => actor.Tell(new ScopeClosed(path));
    }
}
