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
    /// <see cref="Path"/>, at step <see cref="Next"/>. The scopes it charged so far are written into
    /// <see cref="Charged"/> (the one part that changes, by the one scope holding the message), so a
    /// refusal gives back to each of them and an approval names them to the holder.
    /// </summary>
    internal sealed record Reserve(long Id, IActorRef Holder, Usage Delta, byte Priority, Step[] Path, IActorRef[] Charged, IActorRef ReplyTo, int Next = 0)
    {
        public static Reserve Start(long id, IActorRef holder, Usage delta, byte priority, Step[] path, IActorRef replyTo) =>
            new(id, holder, delta, priority, path, new IActorRef[path.Length], replyTo);
    }

    /// <summary>Every scope of the path took the reservation; <paramref name="Scopes"/> are they, in path order.</summary>
    internal sealed record Approved(long Id, IActorRef[] Scopes);

    /// <summary>A scope refused the reservation; those before it gave theirs back.</summary>
    internal sealed record Refused(long Id, Exception Reason);

    /// <summary>Gives back <paramref name="Delta"/> that <paramref name="Holder"/> holds here.</summary>
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
        reservation.Charged[reservation.Next] = context.Self;
        return reservation with { Next = reservation.Next + 1 };
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
            reservation.ReplyTo.Tell(new Approved(reservation.Id, reservation.Charged), self);
        else
            reservation.Path[reservation.Next].Actor.Tell(reservation, self);
    }

    /// <summary>Gives back what the scopes before this step took, and answers with the refusal.</summary>
    internal static void Refuse(Reserve reservation, Exception reason)
    {
        for (var i = 0; i < reservation.Next; i++)
            reservation.Charged[i].Tell(new Release(reservation.Holder, reservation.Delta));
        reservation.ReplyTo.Tell(new Refused(reservation.Id, reason));
    }
}
