using Akka.Actor;

namespace Libp2p.Actors.Resources;

/// <summary>
/// One named resource scope as an actor (<c>rcmgr/peer-…</c>, <c>rcmgr/protocol-…</c>, …): it lives
/// as long as the scope, and answers for its usage and limit by message.
/// </summary>
public sealed class ScopeActor : ReceiveActor
{
    /// <summary>Asks for the scope's usage and limit; answered with <see cref="StatIs"/>.</summary>
    public sealed record GetStat
    {
        /// <summary>The message.</summary>
        public static GetStat Instance { get; } = new();
    }

    /// <summary>The scope's usage and limit at the time of asking.</summary>
    public sealed record StatIs(ScopeSnapshot Scope);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ScopeActor(NamedScope scope)
    {
        Receive<GetStat>(_ => Sender.Tell(new StatIs(new ScopeSnapshot(scope.Name, scope.Stat(), scope.Node.Limit))));
    }

    /// <summary>The actor of <paramref name="scope"/>.</summary>
    public static Props Props(NamedScope scope) => Akka.Actor.Props.Create(() => new ScopeActor(scope));
}
