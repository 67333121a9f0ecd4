using System.Net;
using System.Net.NetworkInformation;
using Akka.Actor;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Actors.Swarm;

/// <summary>The Swarm's listeners: binding, reporting and closing them.</summary>
public sealed partial class SwarmActor
{
    /// <summary>A <see cref="SwarmProtocol.Listen"/> waiting for its listeners to bind.</summary>
    private sealed class ListenRequest(IActorRef replyTo, HashSet<IActorRef> waiting)
    {
        public IActorRef ReplyTo { get; } = replyTo;
        public HashSet<IActorRef> Waiting { get; } = waiting;
        public List<Multiaddr> Bound { get; } = [];
        public bool Failed { get; set; }
    }

    private void HandleListen(SwarmProtocol.Listen listen)
    {
        var request = new ListenRequest(Sender, []);
        foreach (var address in listen.Addresses)
        {
            var transport = _settings.Transports.FirstOrDefault(t => t.CanListen(address));
            if (transport is null)
            {
                Sender.Tell(new SwarmProtocol.ListenFailed(address, new TransportException($"no transport can listen on {address}")));
                return;
            }
            var listener = Context.ActorOf(ListenerActor.Props(address, transport, _materializer), $"listener-{++_nextListener}");
            Context.Watch(listener);
            _listeners[listener] = new Listener(address);
            request.Waiting.Add(listener);
        }
        if (request.Waiting.Count == 0)
            Sender.Tell(new SwarmProtocol.Listening([]));
        else
            _listenRequests.Add(request);
    }

    private void HandleBound(ListenerActor.Bound bound)
    {
        if (_listeners.TryGetValue(Sender, out var listener))
            listener.Bound = bound.Address;
        Context.System.EventStream.Publish(new SwarmProtocol.ListenStarted(_local, bound.Address));
        foreach (var request in _listenRequests.Where(r => r.Waiting.Remove(Sender)).ToArray())
        {
            request.Bound.Add(bound.Address);
            if (request.Waiting.Count == 0)
            {
                _listenRequests.Remove(request);
                if (!request.Failed)
                    request.ReplyTo.Tell(new SwarmProtocol.Listening(request.Bound));
            }
        }
    }

    /// <summary><paramref name="listener"/> could not bind, or stopped: each request waiting for it fails, once.</summary>
    private void ListenerFailed(IActorRef listener, Multiaddr requested, Exception reason)
    {
        foreach (var request in _listenRequests.Where(r => r.Waiting.Remove(listener)).ToArray())
        {
            if (!request.Failed)
                request.ReplyTo.Tell(new SwarmProtocol.ListenFailed(requested, reason));
            request.Failed = true;
            if (request.Waiting.Count == 0)
                _listenRequests.Remove(request);
        }
    }

    private void HandleCloseListener(SwarmProtocol.CloseListener close)
    {
        var (actor, listener) = _listeners.FirstOrDefault(l => l.Value.Bound == close.Address || l.Value.Requested == close.Address);
        if (listener is null)
        {
            Sender.Tell(new SwarmProtocol.ListenerClosed(close.Address));
            return;
        }
        // Answered when the listener is gone (HandleTerminated).
        listener.Closers.Add(Sender);
        Context.Stop(actor);
    }

    private IReadOnlyList<Multiaddr> ListenAddresses(bool expand)
    {
        var bound = _listeners.Values.Where(l => l.Bound is not null).Select(l => l.Bound!).ToList();
        return expand ? bound.SelectMany(ExpandInterfaces).Distinct().ToArray() : bound;
    }

    /// <summary>0.0.0.0 and :: stand for every interface: list each interface address instead (the seed's <c>InterfaceListenAddresses</c>).</summary>
    private static IEnumerable<Multiaddr> ExpandInterfaces(Multiaddr address)
    {
        if (!address.TryGetIPEndPoint(out var endPoint) || !(endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)))
        {
            yield return address;
            yield break;
        }
        var family = endPoint.Address.AddressFamily;
        var rest = address.Components.Skip(2).Aggregate(Multiaddr.Empty, (m, c) => m.Encapsulate(c.ToString()));
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces().Where(n => n.OperationalStatus == OperationalStatus.Up))
        {
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses.Where(u => u.Address.AddressFamily == family))
                yield return Multiaddr.FromIPEndPoint(new IPEndPoint(unicast.Address, endPoint.Port), address.Components[1].Protocol.Name).Encapsulate(rest);
        }
    }
}
