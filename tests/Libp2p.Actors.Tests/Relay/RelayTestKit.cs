using Akka.Actor;
using Akka.Streams;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Relay;
using Libp2p.Actors.Swarm;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay;

namespace Libp2p.Actors.Tests.Relay;

/// <summary>Swarms with the relay client transport, and a swarm serving the hop protocol.</summary>
public abstract class RelayTestKit : SwarmTestKit
{
    protected const string EchoProtocol = "/echo/1.0.0";

    protected Host StartClient(string listen = "/ip4/127.0.0.1/tcp/0")
    {
        RelayTransport? transport = null;
        var host = StartHost(listen, s => s with { Transports = [.. s.Transports, transport = new RelayTransport(PeerId.FromPublicKey(s.Identity.PublicKey))] });
        transport!.AttachAsync(host.Swarm).Wait(Patience);
        return host;
    }

    protected (Host Relay, IActorRef Books) StartRelay(RelayServiceSettings? settings = null, Func<SwarmSettings, SwarmSettings>? configure = null)
    {
        settings ??= RelayServiceSettings.Default;
        var relay = StartHost(configure: configure);
        var books = Sys.ActorOf(RelayServiceActor.Props(relay.Key, settings));
        var hop = new HopService(books, new NetworkClient(relay.Swarm, relay.Peer), settings, Sys.Materializer());
        SetHandler(relay, CircuitRelay.HopProtocolId, StreamHandler.From(hop.ServeAsync));
        return (relay, books);
    }

    protected static NetworkClient Client(Host host) => new(host.Swarm, host.Peer);

    protected async Task<RelayReservation> ReserveAndListenAsync(Host client, Host relay)
    {
        var reservation = await RelayClient.ReserveAsync(Client(client), relay.Peer, relay.Addresses, Patience);
        await client.Swarm.Ask<SwarmProtocol.Listening>(new SwarmProtocol.Listen([Multiaddr.Parse("/p2p-circuit")]), Patience);
        return reservation;
    }

    protected static Multiaddr Through(RelayReservation reservation, Host target) => reservation.Addresses[0].Encapsulate($"/p2p/{target.Peer}");

    protected static T FindCause<T>(Exception error) where T : Exception
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
            if (e is DialException dial)
            {
                foreach (var (_, attempt) in dial.Attempts)
                {
                    for (Exception? a = attempt; a is not null; a = a.InnerException)
                    {
                        if (a is T inAttempt)
                            return inAttempt;
                    }
                }
            }
        }
        throw new Xunit.Sdk.XunitException($"no {typeof(T).Name} in {error}");
    }

}
