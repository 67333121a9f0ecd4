using Akka.Actor;
using Libp2p.Actors.Network;

namespace Libp2p.Actors.Resources;

/// <summary>
/// What every scope actor answers, named (<see cref="ScopeActor"/>) or with an end
/// (<see cref="ScopeSpanActor"/>): a reservation passes from scope to scope along its path in one
/// fixed order, each scope checking its own limit and adding to its own counters, all or nothing.
/// </summary>
public static class ScopeProtocol
{
    /// <summary>Asks a scope for its usage and limit; answered with <see cref="StatIs"/>.</summary>
    public sealed record GetStat
    {
        /// <summary>The message.</summary>
        public static GetStat Instance { get; } = new();
    }

    /// <summary>A scope's usage and limit when it was asked.</summary>
    public sealed record StatIs(ScopeSnapshot Scope);

    /// <summary>
    /// One step of a reservation's path: <paramref name="Actor"/>'s scope is charged or, when
    /// <paramref name="Child"/> is set, <paramref name="Actor"/> (a parent scope) hands the
    /// reservation to its child scope of that name, made with <paramref name="ChildLimit"/> if it
    /// does not exist. The parent is the only one that makes and reclaims its children, so a
    /// reservation into a scope that may not exist yet always passes through it.
    /// </summary>
    internal readonly record struct Step(IActorRef Actor, string? Child = null, ScopeLimit? ChildLimit = null);

    /// <summary>
    /// A reservation on its way: <see cref="Delta"/> for <see cref="Holder"/> through
    /// <see cref="Path"/>, at step <see cref="Next"/>. It is a token passed hand to hand, not a value:
    /// only the scope holding it writes to it (its <see cref="Next"/> step, and itself into
    /// <see cref="Charged"/>, so a refusal gives back to each scope charged so far and an approval
    /// names them to the holder), and the holder that made it uses it again for its next
    /// reservation once this one is answered. A record per hop cost more than the hop's decision.
    /// </summary>
    internal sealed class Reserve
    {
        public long Id { get; private set; }

        public IActorRef Holder { get; private set; } = ActorRefs.Nobody;

        public Usage Delta { get; private set; }

        public byte Priority { get; private set; }

        public Step[] Path { get; private set; } = [];

        public IActorRef[] Charged { get; private set; } = [];

        /// <summary>Told <see cref="Approved"/> or <see cref="Refused"/>.</summary>
        public IActorRef ReplyTo { get; private set; } = ActorRefs.Nobody;

        public int Next { get; set; }

        /// <summary>
        /// Completed with <see cref="EarlyReply"/> by the last scope as it approves, without waiting
        /// for the holder to hear of it: the holder has charged itself already, and a refusal still
        /// goes through the holder, which gives back its own part before it answers.
        /// </summary>
        public IAnswer? EarlyAnswer { get; private set; }

        public object? EarlyReply { get; private set; }

        /// <summary>Starts a new reservation with this token (a fresh one, or one whose last reservation was answered).</summary>
        public Reserve Begin(long id, IActorRef holder, Usage delta, byte priority, Step[] path, IActorRef replyTo, IAnswer? earlyAnswer = null, object? earlyReply = null)
        {
            (Id, Holder, Delta, Priority, Path, ReplyTo, Next, EarlyAnswer, EarlyReply) = (id, holder, delta, priority, path, replyTo, 0, earlyAnswer, earlyReply);
            if (Charged.Length != path.Length)
                Charged = new IActorRef[path.Length];
            return this;
        }
    }

    /// <summary>Every scope of the path took the reservation; <paramref name="Scopes"/> are they, in path order.</summary>
    internal sealed record Approved(long Id, IActorRef[] Scopes);

    /// <summary>A scope refused the reservation; those before it gave theirs back.</summary>
    internal sealed record Refused(long Id, Exception Reason);

    /// <summary>Gives back <paramref name="Delta"/> that <paramref name="Holder"/> holds here; immutable, so one may be sent to every scope of a path.</summary>
    internal sealed record Release(IActorRef Holder, Usage Delta);

    /// <summary>Gives back everything <paramref name="Holder"/> holds here (it closed).</summary>
    internal sealed record Detach(IActorRef Holder);

    /// <summary>
    /// Charges <paramref name="account"/> with the reservation's current step and returns the
    /// reservation at its next step, or refuses it (giving back what the steps before took) and returns null.
    /// </summary>
    internal static Reserve? TryCharge(ScopeAccount account, Reserve reservation, IActorContext context, bool closed)
    {
        var refusal = closed
            ? new ResourceScopeClosedException(account.Name)
            : (Exception?)account.Refuse(reservation.Delta, reservation.Priority);
        if (refusal is not null)
        {
            Refuse(reservation, refusal);
            return null;
        }
        // Watched so that whatever stops the holder, what it holds here comes back (DeathWatch).
        if (account.Add(reservation.Holder, reservation.Delta))
            context.Watch(reservation.Holder);
        reservation.Charged[reservation.Next++] = context.Self;
        return reservation;
    }

    /// <summary>Takes back what a <see cref="Release"/> or <see cref="Detach"/> gives back, and stops watching a holder with nothing left.</summary>
    internal static void GiveBack(ScopeAccount account, object message, IActorContext context)
    {
        switch (message)
        {
            case Release r when account.Remove(r.Holder, r.Delta):
                context.Unwatch(r.Holder);
                break;
            case Detach d:
                account.Forget(d.Holder);
                context.Unwatch(d.Holder);
                break;
        }
    }

    /// <summary>Sends the reservation to its next step, or the approval when there is none.</summary>
    internal static void Advance(Reserve reservation, IActorRef self)
    {
        if (reservation.Next == reservation.Path.Length)
        {
            reservation.EarlyAnswer?.Complete(reservation.EarlyReply!);
            reservation.ReplyTo.Tell(new Approved(reservation.Id, reservation.Charged), self);
        }
        else
            reservation.Path[reservation.Next].Actor.Tell(reservation, self);
    }

    /// <summary>Gives back what the scopes before this step took, and answers with the refusal.</summary>
    internal static void Refuse(Reserve reservation, Exception reason)
    {
        var release = new Release(reservation.Holder, reservation.Delta);
        for (var i = 0; i < reservation.Next; i++)
            reservation.Charged[i].Tell(release);
        reservation.ReplyTo.Tell(new Refused(reservation.Id, reason));
    }
}

/// <summary>Where the scope actors run.</summary>
internal static class ScopeDispatcher
{
    /// <summary>
    /// The dispatcher of every actor under <c>rcmgr</c> when the system's configuration defines one
    /// under this path; Akka's default dispatcher otherwise. A dispatcher of one dedicated thread
    /// was measured (an approval passes five scope actors in a row, and on one thread each hop is a
    /// queue entry rather than a wake-up) and lost on a loaded machine: that thread waits its turn
    /// among all the others (docs/benchmarks.md).
    /// </summary>
    public const string Id = "akka.libp2p.resource-manager.dispatcher";

    /// <summary>The same dispatcher as the actor of <paramref name="context"/>: children of a scope run where it runs.</summary>
    public static Props OnDispatcherOf(this Props props, IActorContext context) => props.WithDispatcher(context.Props.Dispatcher);
}
