using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Actors.Resources;

/// <summary>
/// The connection limiter as a scope actor (<c>rcmgr/subnets</c>): the only writer of the counts of
/// connections per subnet (<see cref="ConnectionLimiter"/>), deciding each admission by message. A
/// connection's scope actor asks it first, before its reservation travels the DAG; what a
/// connection holds here comes back when it says so or, whatever stops it, when it dies (DeathWatch).
/// </summary>
internal sealed class ConnectionLimiterActor : UntypedActor
{
    private readonly ConnectionLimiter _limiter;
    private readonly Dictionary<IActorRef, (ConnectionLimiter.Key[] Keys, bool Inbound)> _held = new();

    /// <summary>Counts the sender's connection with <paramref name="Endpoint"/>; answered with <see cref="SubnetAdmitted"/> or <see cref="SubnetRefused"/>.</summary>
    public sealed record Admit(Multiaddr Endpoint, Direction Direction);

    /// <summary>The connection is counted in its subnets (or in none, for an endpoint without an IP).</summary>
    public sealed record SubnetAdmitted
    {
        /// <summary>The message.</summary>
        public static SubnetAdmitted Instance { get; } = new();
    }

    /// <summary>A subnet or network of the endpoint is full: the denial names it (<see cref="ResourceLimitExceededException"/>).</summary>
    public sealed record SubnetRefused(ResourceLimitExceededException Reason);

    /// <summary>Gives back the sender's places (its connection is done).</summary>
    public sealed record Leave
    {
        /// <summary>The message.</summary>
        public static Leave Instance { get; } = new();
    }

    /// <summary>Asks for the counts and the <paramref name="Busiest"/> busiest subnets; answered with <see cref="SubnetsStat"/>.</summary>
    public sealed record GetSubnets(int Busiest)
    {
        internal IAnswer? Answer { get; init; }
    }

    /// <summary>Use <see cref="Props"/>.</summary>
    public ConnectionLimiterActor(ConnectionLimiter limiter) => _limiter = limiter;

    internal static Props Props(ConnectionLimiter limiter) => Akka.Actor.Props.Create(() => new ConnectionLimiterActor(limiter));

    /// <inheritdoc />
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Admit a:
                if (_held.ContainsKey(Sender))
                {
                    // One place per connection: asked twice, it is counted once.
                    Sender.Tell(SubnetAdmitted.Instance);
                    return;
                }
                ConnectionLimiter.Key[]? keys;
                try
                {
                    keys = _limiter.Open(a.Endpoint, a.Direction);
                }
                catch (ResourceLimitExceededException e)
                {
                    Sender.Tell(new SubnetRefused(e));
                    return;
                }
                if (keys is not null)
                {
                    _held[Sender] = (keys, a.Direction == Direction.Inbound);
                    // Whatever stops the connection's scope, its places come back.
                    Context.Watch(Sender);
                }
                Sender.Tell(SubnetAdmitted.Instance);
                return;
            case Leave:
                if (Give(Sender))
                    Context.Unwatch(Sender);
                return;
            case Terminated t:
                Give(t.ActorRef);
                return;
            case GetSubnets g:
                new ReplyTo(Sender, g.Answer).Ok(_limiter.Stat(g.Busiest));
                return;
            default:
                Unhandled(message);
                return;
        }
    }

    private bool Give(IActorRef holder)
    {
        if (!_held.Remove(holder, out var held))
            return false;
        _limiter.Release(held.Keys, held.Inbound);
        return true;
    }
}
