using Akka.Actor;
using Akka.Streams;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// One listen address: binds it, opens a resource scope for and upgrades every accepted connection, and hands each to the Swarm
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

    /// <summary>A connection was accepted and its scope opened; its upgrade is under way. The receiver owns the scope.</summary>
    public sealed record Accepted(MuxedConnection Connection, TransportConnection Addresses, ConnectionManagementScope Scope);

    /// <summary>A connection was refused by the resource manager and cut before its handshake.</summary>
    public sealed record Refused(TransportConnection Addresses, ResourceLimitExceededException Reason);

    private sealed record Listening(TransportListener Listener);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ListenerActor(Multiaddr requested, ITransport transport, UpgradeSettings upgrade, ResourceManager resources, IMaterializer materializer)
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
        // Every accepted connection is upgraded on the Swarm's materializer, not this actor's:
        // closing a listener must not close the connections it accepted.
        Upgrader.Listen(system, materializer, transport, requested, inbound => Accept(inbound, upgrade, resources, materializer, swarm))
            .PipeTo(self, success: l => new Listening(l));
    }

    /// <summary>A listener for <paramref name="address"/> on <paramref name="transport"/>, accounting its connections in <paramref name="resources"/>.</summary>
    public static Props Props(Multiaddr address, ITransport transport, UpgradeSettings upgrade, ResourceManager resources, IMaterializer materializer) =>
        Akka.Actor.Props.Create(() => new ListenerActor(address, transport, upgrade, resources, materializer));

    /// <summary>
    /// Counts the connection from the moment it is accepted, as go-libp2p's listener does, so its
    /// scope exists before the upgrade and the muxer's window growth is charged to it.
    /// </summary>
    private static void Accept(InboundConnection inbound, UpgradeSettings upgrade, ResourceManager resources, IMaterializer materializer, IActorRef swarm)
    {
        ConnectionManagementScope scope;
        try
        {
            scope = resources.OpenConnection(Direction.Inbound, useFileDescriptor: true, inbound.Addresses.RemoteAddress);
        }
        catch (ResourceLimitExceededException e)
        {
            // Run only to be cut at once: as the listening side it has sent nothing yet.
            Upgrader.Accept(materializer, inbound, upgrade).Abort(e);
            swarm.Tell(new Refused(inbound.Addresses, e));
            return;
        }
        MuxedConnection connection;
        try
        {
            connection = Upgrader.Accept(materializer, inbound, upgrade with { Memory = new ScopeMemoryAccount(scope) });
        }
        catch
        {
            // The connection never started (the materializer is shutting down): its scope goes back.
            scope.Done();
            throw;
        }
        swarm.Tell(new Accepted(connection, inbound.Addresses, scope));
    }

    /// <inheritdoc />
    protected override void PostStop() => _listener?.UnbindAsync();
}
