using Akka.Actor;
using Akka.Streams;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// One listen address: binds it, upgrades every accepted connection, and hands each to the Swarm
/// (its parent). Stopping it unbinds the address; connections already accepted live on.
/// </summary>
public sealed class ListenerActor : ReceiveActor
{
    private readonly Multiaddr _requested;
    private TransportListener? _listener;

    /// <summary>The address is bound.</summary>
    public sealed record Bound(Multiaddr Requested, Multiaddr Address);

    /// <summary>The address could not be bound.</summary>
    public sealed record BindFailed(Multiaddr Requested, Exception Reason);

    /// <summary>A connection was accepted; its upgrade is under way.</summary>
    public sealed record Accepted(MuxedConnection Connection, TransportConnection Addresses);

    private sealed record Listening(TransportListener Listener);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ListenerActor(Multiaddr requested, ITransport transport, UpgradeSettings upgrade, IMaterializer materializer)
    {
        _requested = requested;
        Receive<Listening>(l =>
        {
            _listener = l.Listener;
            Context.Parent.Tell(new Bound(_requested, l.Listener.Address));
        });
        Receive<Status.Failure>(f =>
        {
            Context.Parent.Tell(new BindFailed(_requested, f.Cause));
            Context.Stop(Self);
        });
        Receive<Accepted>(a => Context.Parent.Tell(a));

        var self = Self;
        var system = Context.System;
        // Every accepted connection is upgraded on the Swarm's materializer, not this actor's:
        // closing a listener must not close the connections it accepted.
        Upgrader.Listen(system, materializer, transport, requested, upgrade, (connection, addresses) => self.Tell(new Accepted(connection, addresses)))
            .PipeTo(self, success: l => new Listening(l));
    }

    /// <summary>A listener for <paramref name="address"/> on <paramref name="transport"/>.</summary>
    public static Props Props(Multiaddr address, ITransport transport, UpgradeSettings upgrade, IMaterializer materializer) =>
        Akka.Actor.Props.Create(() => new ListenerActor(address, transport, upgrade, materializer));

    /// <inheritdoc />
    protected override void PostStop() => _listener?.UnbindAsync();
}
