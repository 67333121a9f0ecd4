using Akka.Actor;
using Akka.Streams;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// One listen address: binds it and hands every accepted connection to the Swarm (its parent),
/// which gives it a <see cref="Connections.ConnectionActor"/> at once. Stopping it unbinds the
/// address; connections already accepted live on.
/// </summary>
public sealed class ListenerActor : ReceiveActor
{
    private readonly Multiaddr _requested;
    private TransportListener? _listener;

    /// <summary>The address is bound.</summary>
    public sealed record Bound(Multiaddr Requested, Multiaddr Address);

    /// <summary>The address could not be bound.</summary>
    public sealed record BindFailed(Multiaddr Requested, Exception Reason);

    /// <summary>A connection was accepted, nothing read from it yet: the receiver owns it.</summary>
    public sealed record Accepted(InboundConnection Inbound);

    private sealed record Listening(TransportListener Listener);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ListenerActor(Multiaddr requested, ITransport transport, IMaterializer materializer)
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

        var self = Self;
        // Accepted connections go straight to the Swarm, which outlives this listener: a connection
        // (and its scope) accepted while the listener stops is still closed and released there.
        var swarm = Context.Parent;
        var system = Context.System;
        // On the Swarm's materializer, not this actor's: closing a listener must not close the
        // connections it accepted.
        Upgrader.Listen(system, materializer, transport, requested, inbound => swarm.Tell(new Accepted(inbound)))
            .PipeTo(self, success: l => new Listening(l));
    }

    /// <summary>A listener for <paramref name="address"/> on <paramref name="transport"/>.</summary>
    public static Props Props(Multiaddr address, ITransport transport, IMaterializer materializer) =>
        Akka.Actor.Props.Create(() => new ListenerActor(address, transport, materializer));

    /// <inheritdoc />
    protected override void PostStop() => _listener?.UnbindAsync();
}
