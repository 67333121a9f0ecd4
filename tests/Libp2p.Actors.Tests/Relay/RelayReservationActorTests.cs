using Akka.Actor;
using Libp2p.Actors.Relay;
using Libp2p.Protocols.Relay;
using Status = Libp2p.Protocols.Relay.Pb.Status;

namespace Libp2p.Actors.Tests.Relay;

/// <summary>A reservation kept alive: renewed before it ends, retried when refused.</summary>
public sealed class RelayReservationActorTests : RelayTestKit
{
    [Fact]
    public async Task A_kept_reservation_must_be_renewed_before_it_expires()
    {
        var (relay, books) = StartRelay(RelayServiceSettings.Default with { ReservationTtl = TimeSpan.FromSeconds(4) });
        var client = StartClient();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(RelayReservationActor.RelayReservationChanged));

        var keeper = Sys.ActorOf(RelayReservationActor.Props(Client(client), relay.Peer, relay.Addresses, Patience));

        var first = events.ExpectMsg<RelayReservationActor.RelayReservationChanged>(Patience);
        var second = events.ExpectMsg<RelayReservationActor.RelayReservationChanged>(Patience);
        Assert.NotNull(first.Reservation);
        Assert.NotNull(second.Reservation);
        // Renewed while the first still held: the relay never went without it.
        Assert.True(second.Reservation!.Expiration > first.Reservation!.Expiration, $"{second.Reservation.Expiration} after {first.Reservation.Expiration}");
        var state = await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience);
        // The keeper renews every second or two: a third renewal may have reached the relay meanwhile,
        // and is then published after it. The relay holds the newest reservation the keeper was given.
        var latest = second.Reservation;
        while (latest.Expiration < state.Reservations[client.Peer])
            latest = events.ExpectMsg<RelayReservationActor.RelayReservationChanged>(Patience).Reservation!;
        Assert.Equal(latest.Expiration, state.Reservations[client.Peer]);
        Sys.Stop(keeper);
        CloseAll(client, relay);
    }

    [Fact]
    public async Task A_kept_reservation_must_be_made_again_at_once_when_its_connection_closes()
    {
        var (relay, books) = StartRelay();
        var client = StartClient();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(RelayReservationActor.RelayReservationChanged));
        var keeper = Sys.ActorOf(RelayReservationActor.Props(Client(client), relay.Peer, relay.Addresses, Patience));
        Assert.NotNull(events.ExpectMsg<RelayReservationActor.RelayReservationChanged>(Patience).Reservation);

        await client.Swarm.Ask<Libp2p.Actors.Swarm.SwarmProtocol.PeerClosed>(new Libp2p.Actors.Swarm.SwarmProtocol.ClosePeer(relay.Peer), Patience);

        // An hour's reservation, renewed within the test's patience: only the lost connection explains it.
        Assert.NotNull(events.ExpectMsg<RelayReservationActor.RelayReservationChanged>(Patience).Reservation);
        await AwaitAssertAsync(async () =>
            Assert.True((await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience)).Reservations.ContainsKey(client.Peer)), Patience);
        Sys.Stop(keeper);
        CloseAll(client, relay);
    }

    [Fact]
    public void A_refused_reservation_must_be_published_and_retried()
    {
        var (relay, _) = StartRelay(RelayServiceSettings.Default with { MaxReservations = 0 });
        var client = StartClient();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(RelayReservationActor.RelayReservationChanged));

        var keeper = Sys.ActorOf(RelayReservationActor.Props(Client(client), relay.Peer, relay.Addresses, Patience));

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var failed = events.ExpectMsg<RelayReservationActor.RelayReservationChanged>(Patience);
            Assert.Null(failed.Reservation);
            Assert.Equal(Status.ReservationRefused, Assert.IsType<CircuitRelayException>(failed.Error).Status);
        }
        Sys.Stop(keeper);
        CloseAll(client, relay);
    }
}
