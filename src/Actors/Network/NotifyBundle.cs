using Akka.Actor;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Network;

/// <summary>
/// The seed's <c>Notifiee</c> / <c>NotifyBundle</c> for code that does not want actors: delegates
/// called for one node's events, in the order the Swarm published them, one at a time.
/// Dispose it to stop the calls (the seed's <c>StopNotify</c>).
/// </summary>
public sealed class NotifyBundle : IDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef _listener;

    /// <summary>Called when the node starts listening on an address.</summary>
    public Action<Multiaddr>? Listen { get; init; }

    /// <summary>Called when the node stops listening on an address.</summary>
    public Action<Multiaddr>? ListenClose { get; init; }

    /// <summary>Called when a connection opens.</summary>
    public Action<ConnectionInfo>? Connected { get; init; }

    /// <summary>Called when a connection closes.</summary>
    public Action<ConnectionInfo>? Disconnected { get; init; }

    /// <summary>Subscribes to <paramref name="localPeer"/>'s events on <paramref name="system"/>'s event stream.</summary>
    public NotifyBundle(ActorSystem system, PeerId localPeer)
    {
        _system = system;
        _listener = system.ActorOf(Props.Create(() => new Relay(this, localPeer)));
        system.EventStream.Subscribe(_listener, typeof(SwarmProtocol.NodeEvent));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _system.EventStream.Unsubscribe(_listener);
        _system.Stop(_listener);
    }

    private sealed class Relay : ReceiveActor
    {
        public Relay(NotifyBundle bundle, PeerId local)
        {
            Receive<SwarmProtocol.NodeEvent>(e => e.LocalPeer == local, e =>
            {
                switch (e)
                {
                    case SwarmProtocol.Connected c:
                        bundle.Connected?.Invoke(c.Connection);
                        break;
                    case SwarmProtocol.Disconnected d:
                        bundle.Disconnected?.Invoke(d.Connection);
                        break;
                    case SwarmProtocol.ListenStarted l:
                        bundle.Listen?.Invoke(l.Address);
                        break;
                    case SwarmProtocol.ListenClosed l:
                        bundle.ListenClose?.Invoke(l.Address);
                        break;
                }
            });
            ReceiveAny(_ => { });
        }
    }
}
