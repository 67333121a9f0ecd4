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
using Status = Libp2p.Protocols.Relay.Pb.Status;

namespace Libp2p.Actors.Tests.Relay;

/// <summary>Circuit relay v2 between three of our swarms over loopback TCP: a relay, a client that reserves, a client that dials through.</summary>
public sealed class CircuitRelayTests : RelayTestKit
{
    [Fact]
    public async Task A_reservation_must_carry_a_verified_voucher_and_the_relays_circuit_addresses()
    {
        var (relay, _) = StartRelay();
        var client = StartClient();

        var reservation = await RelayClient.ReserveAsync(Client(client), relay.Peer, relay.Addresses, Patience);

        Assert.Equal(relay.Peer, reservation.Relay);
        Assert.NotNull(reservation.Voucher);
        Assert.Equal((relay.Peer, client.Peer, reservation.Expiration), (reservation.Voucher!.Relay, reservation.Voucher.Peer, reservation.Voucher.Expiration));
        var ttl = reservation.Expiration - DateTimeOffset.UtcNow;
        Assert.InRange(ttl, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        Assert.Contains(relay.Addresses[0].Encapsulate($"/p2p/{relay.Peer}/p2p-circuit"), reservation.Addresses);
        Assert.Equal(TimeSpan.FromMinutes(2), reservation.DurationLimit);
        Assert.Equal(128 * 1024, reservation.DataLimit);
        CloseAll(client, relay);
    }

    [Fact]
    public async Task A_circuit_must_carry_streams_that_opt_in_and_refuse_those_that_do_not()
    {
        var (relay, books) = StartRelay();
        var listener = StartClient();
        var dialer = StartClient();
        var reservation = await ReserveAndListenAsync(listener, relay);
        SetHandler(listener, EchoProtocol, Echo);

        var dialed = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, [Through(reservation, listener)]), Patience);

        Assert.True(dialed.Connection.Stat.Transient);
        Assert.Equal(listener.Peer, dialed.Connection.RemotePeer);
        Assert.True(dialed.Connection.RemoteAddress.Has(MultiaddrProtocol.P2pCircuit));
        var refused = await dialer.Swarm.Ask(new SwarmProtocol.OpenStream(listener.Peer, [EchoProtocol], DialOptions.Default), Patience);
        Assert.IsType<TransientConnectionException>(Assert.IsType<SwarmProtocol.OpenStreamFailed>(refused).Reason);

        var opened = await dialer.Swarm.Ask<SwarmProtocol.StreamOpened>(
            new SwarmProtocol.OpenStream(listener.Peer, [EchoProtocol], DialOptions.Default.WithUseTransient("test")), Patience);
        var payload = RandomBytes(4096);
        Assert.Equal(payload, await EchoThroughAsync(opened.Stream, payload));
        Assert.True(opened.Stream.Stat.Transient || opened.Stream.Connection.Stat.Transient);
        var inbound = Assert.Single(Conns(listener, dialer.Peer));
        Assert.True(inbound.Stat.Transient);
        Assert.Equal(Direction.Inbound, inbound.Stat.Direction);
        var state = await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience);
        Assert.Equal(1, state.Circuits);
        Assert.True(state.Reservations.ContainsKey(listener.Peer));
        // Two connections (to the relay, and the relayed one), one socket: the relayed one is a stream.
        var system = (await listener.Swarm.Ask<SwarmProtocol.ResourceSnapshotIs>(SwarmProtocol.GetResourceSnapshot.Instance, Patience)).Scopes[0];
        Assert.Equal((1, 1, 1), (system.Usage.NumConnsInbound, system.Usage.NumConnsOutbound, system.Usage.NumFD));
        CloseAll(dialer, listener, relay);
    }

    [Fact]
    public async Task A_circuit_to_a_peer_without_a_reservation_must_fail_with_NO_RESERVATION()
    {
        var (relay, _) = StartRelay();
        var target = StartClient();
        var dialer = StartClient();
        Dial(target, relay);
        var address = relay.Addresses[0].Encapsulate($"/p2p/{relay.Peer}/p2p-circuit/p2p/{target.Peer}");

        var reply = await dialer.Swarm.Ask(new SwarmProtocol.Dial(target.Peer, DialOptions.Default, [address]), Patience);

        var failed = Assert.IsType<SwarmProtocol.DialFailed>(reply);
        Assert.Equal(Status.NoReservation, FindCause<CircuitRelayException>(failed.Reason).Status);
        Assert.Contains("NO_RESERVATION", failed.Reason.Message, StringComparison.Ordinal);
        CloseAll(dialer, target, relay);
    }

    [Fact]
    public async Task A_reservation_past_the_relays_maximum_must_be_refused_with_RESERVATION_REFUSED()
    {
        var (relay, _) = StartRelay(RelayServiceSettings.Default with { MaxReservations = 1 });
        var first = StartClient();
        var second = StartClient();
        await RelayClient.ReserveAsync(Client(first), relay.Peer, relay.Addresses, Patience);

        var error = await Assert.ThrowsAsync<CircuitRelayException>(() => RelayClient.ReserveAsync(Client(second), relay.Peer, relay.Addresses, Patience));

        Assert.Equal(Status.ReservationRefused, error.Status);
        // Renewing one's own reservation is no new one.
        await RelayClient.ReserveAsync(Client(first), relay.Peer, relay.Addresses, Patience);
        CloseAll(first, second, relay);
    }

    [Fact]
    public async Task An_expired_reservation_must_no_longer_open_circuits()
    {
        var clock = new ManualClock();
        var (relay, _) = StartRelay(RelayServiceSettings.Default with { Clock = clock, ReservationTtl = TimeSpan.FromMinutes(10) });
        var listener = StartClient();
        var dialer = StartClient();
        var reservation = await ReserveAndListenAsync(listener, relay);
        Assert.Equal(clock.GetUtcNow().AddMinutes(10).ToUnixTimeSeconds(), reservation.Expiration.ToUnixTimeSeconds());

        clock.Advance(TimeSpan.FromMinutes(11));
        var reply = await dialer.Swarm.Ask(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, [Through(reservation, listener)]), Patience);

        Assert.Equal(Status.NoReservation, FindCause<CircuitRelayException>(Assert.IsType<SwarmProtocol.DialFailed>(reply).Reason).Status);
        CloseAll(dialer, listener, relay);
    }

    [Fact]
    public async Task A_reservation_must_end_with_the_connection_it_was_made_on()
    {
        var (relay, books) = StartRelay();
        var client = StartClient();
        await RelayClient.ReserveAsync(Client(client), relay.Peer, relay.Addresses, Patience);
        Assert.Single((await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience)).Reservations);

        await client.Swarm.Ask<SwarmProtocol.PeerClosed>(new SwarmProtocol.ClosePeer(relay.Peer), Patience);

        await AwaitAssertAsync(async () =>
            Assert.Empty((await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience)).Reservations), Patience);
        CloseAll(client, relay);
    }

    [Fact]
    public async Task A_circuit_must_be_charged_to_the_relay_service_on_the_relay_and_released_when_it_ends()
    {
        var resources = new Libp2p.Actors.Resources.ResourceManager(Libp2p.Actors.Resources.ResourceLimitDefaults.Scaled());
        var (relay, _) = StartRelay(configure: s => s with { Resources = resources });
        var listener = StartClient();
        var dialer = StartClient();
        var reservation = await ReserveAndListenAsync(listener, relay);
        SetHandler(listener, EchoProtocol, Echo);
        await AwaitAssertAsync(async () =>
            Assert.Equal(Libp2p.Actors.Resources.ScopeStat.Zero, (await resources.ViewServiceAsync(CircuitRelay.ServiceName)).Usage), Patience);

        var dialed = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, [Through(reservation, listener)]), Patience);
        var opened = await dialer.Swarm.Ask<SwarmProtocol.StreamOpened>(
            new SwarmProtocol.OpenStream(listener.Peer, [EchoProtocol], DialOptions.Default.WithUseTransient("test")), Patience);
        var payload = RandomBytes(1024);
        Assert.Equal(payload, await EchoThroughAsync(opened.Stream, payload));

        // The hop stream in, the stop stream out, each with one message's memory, and the bridge's chunks.
        var service = await resources.ViewServiceAsync(CircuitRelay.ServiceName);
        Assert.Equal((1, 1, 2L * CircuitRelay.MaxMessageSize + CircuitBridge.HeldPerCircuit),
            (service.Usage.NumStreamsInbound, service.Usage.NumStreamsOutbound, service.Usage.Memory));
        // go-libp2p's default for the service: 256 streams each way, and 256 more per GiB given to libp2p.
        Assert.InRange(service.Limit.StreamsInbound, 256, int.MaxValue / 2);

        Assert.True(dialed.Connection.Stat.Transient);
        await dialer.Swarm.Ask<SwarmProtocol.PeerClosed>(new SwarmProtocol.ClosePeer(listener.Peer), Patience);
        await AwaitAssertAsync(async () =>
            Assert.Equal(Libp2p.Actors.Resources.ScopeStat.Zero, (await resources.ViewServiceAsync(CircuitRelay.ServiceName)).Usage), Patience);
        CloseAll(dialer, listener, relay);
    }

    [Fact]
    public async Task A_relay_whose_service_scope_is_full_must_refuse_with_RESOURCE_LIMIT_EXCEEDED()
    {
        var limits = Libp2p.Actors.Resources.ResourceLimitDefaults.Scaled() with
        {
            Services = new Dictionary<string, Libp2p.Actors.Resources.ScopeLimit> { [CircuitRelay.ServiceName] = new() { StreamsInbound = 0 } },
        };
        var (relay, _) = StartRelay(configure: s => s with { Resources = new Libp2p.Actors.Resources.ResourceManager(limits) });
        var client = StartClient();

        var refused = await Assert.ThrowsAsync<CircuitRelayException>(() => RelayClient.ReserveAsync(Client(client), relay.Peer, relay.Addresses, Patience));

        Assert.Equal(Status.ResourceLimitExceeded, refused.Status);
        CloseAll(client, relay);
    }

    [Fact]
    public async Task A_circuit_past_its_data_limit_must_be_reset_on_both_sides_and_leave_the_books()
    {
        var (relay, books) = StartRelay(RelayServiceSettings.Default with { CircuitData = 32 * 1024 });
        var listener = StartClient();
        var dialer = StartClient();
        var reservation = await ReserveAndListenAsync(listener, relay);
        SetHandler(listener, EchoProtocol, Echo);
        var disconnected = CreateTestProbe();
        Sys.EventStream.Subscribe(disconnected.Ref, typeof(SwarmProtocol.Disconnected));
        var dialed = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, [Through(reservation, listener)]), Patience);
        var options = DialOptions.Default.WithUseTransient("test");
        var small = await dialer.Swarm.Ask<SwarmProtocol.StreamOpened>(new SwarmProtocol.OpenStream(listener.Peer, [EchoProtocol], options), Patience);
        Assert.Equal(RandomBytes(0), await EchoThroughAsync(small.Stream, []));

        var big = await dialer.Swarm.Ask<SwarmProtocol.StreamOpened>(new SwarmProtocol.OpenStream(listener.Peer, [EchoProtocol], options), Patience);
        var echo = EchoThroughAsync(big.Stream, RandomBytes(256 * 1024));

        await Assert.ThrowsAnyAsync<IOException>(() => echo);
        // Both ends lose the relayed connection; the direct ones to the relay stay.
        bool dialerSide = false, listenerSide = false;
        while (!(dialerSide && listenerSide))
        {
            // In whichever order they come: fishing for one must not throw the other away.
            var gone = disconnected.ExpectMsg<SwarmProtocol.Disconnected>(Patience).Connection;
            dialerSide |= gone.LocalPeer == dialer.Peer && gone.Id == dialed.Connection.Id;
            listenerSide |= gone.LocalPeer == listener.Peer && gone.Stat.Transient;
        }
        await AwaitAssertAsync(async () =>
            Assert.Equal(0, (await books.Ask<RelayServiceProtocol.StateIs>(RelayServiceProtocol.GetState.Instance, Patience)).Circuits), Patience);
        Assert.Single(Conns(dialer, relay.Peer));
        CloseAll(dialer, listener, relay);
    }

    [Fact]
    public async Task A_circuit_past_its_duration_limit_must_be_cut()
    {
        var (relay, _) = StartRelay(RelayServiceSettings.Default with { CircuitDuration = TimeSpan.FromSeconds(1) });
        var listener = StartClient();
        var dialer = StartClient();
        var reservation = await ReserveAndListenAsync(listener, relay);
        var disconnected = CreateTestProbe();
        Sys.EventStream.Subscribe(disconnected.Ref, typeof(SwarmProtocol.Disconnected));

        var dialed = await dialer.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(listener.Peer, DialOptions.Default, [Through(reservation, listener)]), Patience);

        var gone = disconnected.FishForMessage<SwarmProtocol.Disconnected>(d => d.Connection.Id == dialed.Connection.Id, Patience);
        Assert.InRange(DateTimeOffset.UtcNow - gone.Connection.Stat.Opened, TimeSpan.FromSeconds(0.5), Patience);
        CloseAll(dialer, listener, relay);
    }
}

/// <summary>What the hop service answers to bad requests: the spec's status codes, never a hang.</summary>
public sealed class HopServiceBadInputTests : RelayTestKit
{
    private async Task<Libp2p.Protocols.Relay.Pb.HopMessage?> AskAsync(Host client, Host relay, byte[] request)
    {
        await KnowAsync(client, relay);
        var opened = await client.Swarm.Ask<SwarmProtocol.StreamOpened>(new SwarmProtocol.OpenStream(relay.Peer, [CircuitRelay.HopProtocolId], DialOptions.Default), Patience);
        var io = opened.Stream.Stream;
        io.ReadTimeout = (int)Patience.TotalMilliseconds;
        await io.WriteAsync(request);
        return await Libp2p.Protocols.Encoding.DelimitedMessages.ReadAsync(io, Libp2p.Protocols.Relay.Pb.HopMessage.Parser, CircuitRelay.MaxMessageSize, "test");
    }

    [Theory]
    [InlineData("00", Status.MalformedMessage)] // no type
    [InlineData("0408022864", Status.UnexpectedMessage)] // a STATUS OK as a request
    [InlineData("0608011202" + "0a00", Status.MalformedMessage)] // CONNECT to an empty peer ID
    [InlineData("88 27", Status.MalformedMessage)] // a 5000-byte message announced
    [InlineData("03ffffff", Status.MalformedMessage)] // not protobuf
    public async Task A_bad_hop_request_must_get_the_specs_status(string hex, Status expected)
    {
        var (relay, _) = StartRelay();
        var client = StartClient();

        var answer = await AskAsync(client, relay, Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));

        Assert.NotNull(answer);
        Assert.Equal(Libp2p.Protocols.Relay.Pb.HopMessage.Types.Type.Status, answer!.Type);
        Assert.Equal(expected, answer.Status);
        CloseAll(client, relay);
    }

    [Fact]
    public async Task A_circuit_to_a_reserved_peer_that_does_not_listen_on_p2p_circuit_must_fail_with_CONNECTION_FAILED()
    {
        var (relay, _) = StartRelay();
        var target = StartClient();
        var dialer = StartClient();
        await RelayClient.ReserveAsync(Client(target), relay.Peer, relay.Addresses, Patience);
        var address = relay.Addresses[0].Encapsulate($"/p2p/{relay.Peer}/p2p-circuit/p2p/{target.Peer}");

        var reply = await dialer.Swarm.Ask(new SwarmProtocol.Dial(target.Peer, DialOptions.Default, [address]), Patience);

        Assert.Equal(Status.ConnectionFailed, FindCause<CircuitRelayException>(Assert.IsType<SwarmProtocol.DialFailed>(reply).Reason).Status);
        CloseAll(dialer, target, relay);
    }
}
