using Akka.Actor;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Network;
using Libp2p.Actors.Relay;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.AutoNat;

/// <summary>The address manager: observations (kept, capped, expiring), AutoNAT results, relayed addresses, the NAT type, and what it advertises.</summary>
public sealed class AddressManagerActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly Multiaddr Listen = Multiaddr.Parse("/ip4/10.0.0.2/tcp/4001");
    private static readonly Multiaddr External = Multiaddr.Parse("/ip4/203.0.113.5/tcp/4001");
    private readonly PeerId _local = NewPeer();
    private readonly ManualClock _clock = new();

    private static PeerId NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    private IActorRef Start(AddressManagerSettings? settings = null, params Multiaddr[] listen)
    {
        var manager = Sys.ActorOf(AddressManagerActor.Props(_local, (settings ?? AddressManagerSettings.Default) with { Clock = _clock }));
        manager.Tell(new AddressManagerProtocol.ListenAddressesChanged(listen.Length == 0 ? [Listen] : listen));
        return manager;
    }

    /// <summary>An observation by a peer at <paramref name="observerIp"/> of our <paramref name="local"/> (default: the listen address) as <paramref name="observed"/>.</summary>
    private static AddressManagerProtocol.Observed Seen(string observerIp, Multiaddr observed, Multiaddr? local = null, int observerPort = 50000) =>
        new(NewPeer(), local ?? Listen, Multiaddr.Parse($"/ip4/{observerIp}/tcp/{observerPort}"), observed);

    private static Task<AddressManagerProtocol.StateIs> StateAsync(IActorRef manager) =>
        manager.Ask<AddressManagerProtocol.StateIs>(AddressManagerProtocol.GetState.Instance, Patience);

    private static async Task<IReadOnlyList<Multiaddr>> HolePunchAsync(IActorRef manager, bool includePrivate = false) =>
        (await manager.Ask<AddressManagerProtocol.HolePunchCandidatesAre>(new AddressManagerProtocol.GetHolePunchCandidates(includePrivate), Patience)).Addresses;

    private static AutoNatResult Result(Multiaddr address, DialStatus status) => new(NewPeer(), address, 0, status);

    [Fact]
    public async Task Observations_from_the_listen_port_must_be_hole_punch_candidates_but_not_advertised_until_confirmed()
    {
        var manager = Start();
        manager.Tell(Seen("198.51.100.1", External));
        manager.Tell(Seen("198.51.100.2", External));

        var state = await StateAsync(manager);

        Assert.Equal([new AddressManagerProtocol.ObservedAddress(External, 2, Translated: false)], state.Observed);
        Assert.Equal([External], await HolePunchAsync(manager));
        Assert.Equal([External, Listen], await HolePunchAsync(manager, includePrivate: true));
        Assert.Equal([Listen], state.Advertised);
    }

    [Fact]
    public async Task Loopback_relayed_and_other_transport_observations_must_be_ignored()
    {
        var manager = Start();
        manager.Tell(Seen("198.51.100.1", Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001")));
        manager.Tell(Seen("198.51.100.2", Multiaddr.Parse("/ip4/203.0.113.5/udp/4001/quic-v1")));
        manager.Tell(Seen("198.51.100.3", Multiaddr.Parse("/ip4/198.51.100.9/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit")));
        manager.Tell(new AddressManagerProtocol.Observed(NewPeer(), Listen, Multiaddr.Parse("/ip4/198.51.100.9/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"), External));

        var state = await StateAsync(manager);

        Assert.Equal((0, 0), (state.Observations, state.Observed.Count));
    }

    [Fact]
    public async Task A_connection_from_an_ephemeral_port_must_give_the_observed_IP_with_the_listen_port_and_not_count_for_the_NAT_type()
    {
        var manager = Start(AddressManagerSettings.Default with { NatTypeMinObservers = 2 });
        var ephemeral = Multiaddr.Parse("/ip4/10.0.0.2/tcp/53211");
        manager.Tell(Seen("198.51.100.1", Multiaddr.Parse("/ip4/203.0.113.5/tcp/61000"), ephemeral));
        manager.Tell(Seen("198.51.100.2", Multiaddr.Parse("/ip4/203.0.113.5/tcp/61001"), ephemeral));

        var state = await StateAsync(manager);

        Assert.Equal([new AddressManagerProtocol.ObservedAddress(External, 2, Translated: true)], state.Observed);
        Assert.Equal(NATDeviceType.Unknown, state.TcpNatType);
    }

    [Fact]
    public async Task One_observer_group_must_hold_at_most_its_cap_and_the_whole_set_must_drop_the_least_recently_seen()
    {
        var listen = Enumerable.Range(4001, 6).Select(p => Multiaddr.Parse($"/ip4/10.0.0.2/tcp/{p}")).ToArray();
        var manager = Start(AddressManagerSettings.Default with { MaxObservationsPerObserver = 4, MaxObservations = 6 }, listen);
        // One peer (one IP, any port) floods with an observation of each of our six addresses.
        foreach (var (local, i) in listen.Select((l, i) => (l, i)))
        {
            manager.Tell(Seen("198.51.100.1", Multiaddr.Parse($"/ip4/203.0.113.{i + 1}/tcp/{4001 + i}"), local, 50000 + i));
            await StateAsync(manager);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }
        var flooded = await StateAsync(manager);
        Assert.Equal(4, flooded.Observations);
        Assert.DoesNotContain(flooded.Observed, o => o.Address.ToString().StartsWith("/ip4/203.0.113.1/", StringComparison.Ordinal));

        // Others fill the set up to its cap: the oldest of the flood goes first.
        for (var i = 0; i < 3; i++)
        {
            manager.Tell(Seen($"198.51.100.{10 + i}", External));
            await StateAsync(manager);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }
        var state = await StateAsync(manager);

        Assert.Equal(6, state.Observations);
        Assert.Equal(new AddressManagerProtocol.ObservedAddress(External, 3, false), state.Observed[0]);
        Assert.DoesNotContain(state.Observed, o => o.Address.ToString().StartsWith("/ip4/203.0.113.3/", StringComparison.Ordinal));
        Assert.Contains(state.Observed, o => o.Address.ToString().StartsWith("/ip4/203.0.113.4/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_observation_not_renewed_within_its_lifetime_must_be_forgotten()
    {
        var manager = Start(AddressManagerSettings.Default with { ObservationTtl = TimeSpan.FromMinutes(10) });
        manager.Tell(new AddressManagerProtocol.Observed(NewPeer(), Listen, Multiaddr.Parse("/ip4/198.51.100.1/tcp/1"), External));
        await StateAsync(manager);
        _clock.Advance(TimeSpan.FromMinutes(9));
        manager.Tell(Seen("198.51.100.2", External));
        Assert.Equal(2, (await StateAsync(manager)).Observed[0].Observers);

        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, (await StateAsync(manager)).Observed[0].Observers);

        _clock.Advance(TimeSpan.FromMinutes(9));
        var state = await StateAsync(manager);
        Assert.Equal((0, 0), (state.Observations, state.Observed.Count));
        Assert.Empty(await HolePunchAsync(manager));
    }

    [Fact]
    public async Task AutoNAT_must_confirm_an_observed_address_into_the_advertised_ones_and_refute_a_listen_address_out_of_them()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(AdvertisedAddressesChanged));
        var publicListen = Multiaddr.Parse("/ip4/198.51.100.50/tcp/4001");
        var manager = Start(null, Listen, publicListen);
        Assert.Equal([Listen, publicListen], events.ExpectMsg<AdvertisedAddressesChanged>(Patience).Addresses);
        manager.Tell(Seen("198.51.100.1", External));

        manager.Tell(new AddressManagerProtocol.Checked(Result(External, DialStatus.Ok)));
        Assert.Equal([Listen, publicListen, External], events.ExpectMsg<AdvertisedAddressesChanged>(Patience).Addresses);
        manager.Tell(new AddressManagerProtocol.Checked(Result(publicListen, DialStatus.EDialError)));
        Assert.Equal([Listen, External], events.ExpectMsg<AdvertisedAddressesChanged>(Patience).Addresses);
        // A dial-back error says nothing about the address.
        manager.Tell(new AddressManagerProtocol.Checked(Result(Listen, DialStatus.EDialBackError)));

        var state = await StateAsync(manager);
        Assert.Equal([External], state.Confirmed);
        Assert.Equal([publicListen], state.Unreachable);
        Assert.Equal([Listen, External], state.Advertised);
        // Refuted or not, a public address stays a hole-punch candidate: behind a NAT it is what the punch opens.
        Assert.Equal([External, publicListen], await HolePunchAsync(manager));
        events.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_result_must_count_only_for_its_lifetime()
    {
        var manager = Start(AddressManagerSettings.Default with { ResultTtl = TimeSpan.FromMinutes(5) });
        manager.Tell(new AddressManagerProtocol.Checked(Result(Listen, DialStatus.EDialError)));
        Assert.Equal([], (await StateAsync(manager)).Advertised);
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal([], (await StateAsync(manager)).Advertised);

        _clock.Advance(TimeSpan.FromMinutes(1));

        var state = await StateAsync(manager);
        Assert.Equal([Listen], state.Advertised);
        Assert.Empty(state.Unreachable);
    }

    [Fact]
    public async Task AutoNAT_candidates_must_put_unchecked_public_addresses_first_and_leave_out_relayed_ones()
    {
        var loopback = Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001");
        var manager = Start(null, Listen, loopback, Multiaddr.Parse("/p2p-circuit"), Multiaddr.Parse("/ip4/0.0.0.0/tcp/4001"));
        manager.Tell(Seen("198.51.100.1", External));
        manager.Tell(new AddressManagerProtocol.Checked(Result(Listen, DialStatus.EDialError)));

        var candidates = await manager.Ask<AddressManagerProtocol.AutoNatCandidatesAre>(AddressManagerProtocol.GetAutoNatCandidates.Instance, Patience);

        Assert.Equal([External, loopback, Listen], candidates.Addresses);
        Assert.Equal(2, candidates.Unchecked);
    }

    [Fact]
    public async Task Relayed_addresses_must_be_advertised_until_the_reservation_expires_and_hide_unconfirmed_public_ones_when_Private()
    {
        var publicListen = Multiaddr.Parse("/ip4/198.51.100.50/tcp/4001");
        var manager = Start(null, Listen, publicListen);
        var relay = NewPeer();
        var relayed = Multiaddr.Parse($"/ip4/198.51.100.7/tcp/4001/p2p/{relay}/p2p-circuit");
        await StateAsync(manager); // started, so subscribed to the events below
        Sys.EventStream.Publish(new RelayReservationActor.RelayReservationChanged(_local, relay,
            new RelayReservation(relay, _clock.GetUtcNow() + TimeSpan.FromHours(1), [relayed], null, null, null), null));
        Assert.Equal([Listen, publicListen, relayed], (await StateAsync(manager)).Advertised);

        Sys.EventStream.Publish(new ReachabilityChanged(_local, Reachability.Private));
        var state = await StateAsync(manager);
        Assert.Equal(Reachability.Private, state.Reachability);
        Assert.Equal([Listen, relayed], state.Advertised);
        Assert.Equal([publicListen], await HolePunchAsync(manager));

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal([Listen, publicListen], (await StateAsync(manager)).Advertised);
    }

    [Fact]
    public async Task A_failed_renewal_must_take_the_relayed_address_out()
    {
        var manager = Start();
        var relay = NewPeer();
        var relayed = Multiaddr.Parse($"/ip4/198.51.100.7/tcp/4001/p2p/{relay}/p2p-circuit");
        await StateAsync(manager);
        Sys.EventStream.Publish(new RelayReservationActor.RelayReservationChanged(_local, relay,
            new RelayReservation(relay, _clock.GetUtcNow() + TimeSpan.FromHours(1), [relayed], null, null, null), null));
        Assert.Equal([Listen, relayed], (await StateAsync(manager)).Advertised);

        Sys.EventStream.Publish(new RelayReservationActor.RelayReservationChanged(_local, relay, null, new TimeoutException("the relay did not answer")));

        Assert.Equal([Listen], (await StateAsync(manager)).Advertised);
    }

    [Fact]
    public async Task Observers_that_agree_on_one_port_must_make_the_NAT_a_cone()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(NatDeviceTypeChanged));
        var manager = Start();
        for (var i = 1; i <= 3; i++)
            manager.Tell(Seen($"198.51.100.{i}", External));
        Assert.Equal(NATDeviceType.Unknown, (await StateAsync(manager)).TcpNatType);
        events.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        manager.Tell(Seen("198.51.100.4", External));

        Assert.Equal(new NatDeviceTypeChanged(_local, NATTransportProtocol.TCP, NATDeviceType.Cone), events.ExpectMsg<NatDeviceTypeChanged>(Patience));
        Assert.Equal((NATDeviceType.Cone, NATDeviceType.Unknown), ((await StateAsync(manager)).TcpNatType, (await StateAsync(manager)).UdpNatType));
    }

    [Fact]
    public async Task Observers_that_each_see_another_port_must_make_the_NAT_symmetric()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(NatDeviceTypeChanged));
        var manager = Start();
        for (var i = 1; i <= 4; i++)
            manager.Tell(Seen($"198.51.100.{i}", Multiaddr.Parse($"/ip4/203.0.113.5/tcp/{40000 + i}")));

        Assert.Equal(new NatDeviceTypeChanged(_local, NATTransportProtocol.TCP, NATDeviceType.Symmetric), events.ExpectMsg<NatDeviceTypeChanged>(Patience));
        Assert.Equal(NATDeviceType.Symmetric, (await StateAsync(manager)).TcpNatType);
    }

    [Fact]
    public async Task Several_peers_behind_one_IP_must_count_as_one_observer()
    {
        var manager = Start();
        for (var port = 1; port <= 4; port++)
            manager.Tell(Seen("198.51.100.1", External, observerPort: port));

        var state = await StateAsync(manager);

        Assert.Equal((1, NATDeviceType.Unknown), (state.Observed.Single().Observers, state.TcpNatType));
    }

    [Fact]
    public async Task IPv6_observers_in_one_56_must_count_as_one_and_another_family_than_the_connections_must_be_ignored()
    {
        var listen6 = Multiaddr.Parse("/ip6/2001:db8:1::2/tcp/4001");
        var external6 = Multiaddr.Parse("/ip6/2001:db8:ff::5/tcp/4001");
        var manager = Start(null, Listen, listen6);
        manager.Tell(new AddressManagerProtocol.Observed(NewPeer(), listen6, Multiaddr.Parse("/ip6/2001:db8:aa:bb01::1/tcp/1"), external6));
        manager.Tell(new AddressManagerProtocol.Observed(NewPeer(), listen6, Multiaddr.Parse("/ip6/2001:db8:aa:bbff::9/tcp/2"), external6));
        manager.Tell(new AddressManagerProtocol.Observed(NewPeer(), listen6, Multiaddr.Parse("/ip6/2001:db8:aa:cc00::1/tcp/3"), external6));
        manager.Tell(Seen("198.51.100.1", external6));

        var state = await StateAsync(manager);

        Assert.Equal([new AddressManagerProtocol.ObservedAddress(external6, 2, false)], state.Observed);
    }

    /// <summary>Holds the first GetListenAddresses, answers the second with <c>Listen</c>, and the first with nothing only when told: answers crossing, as two asks' replies can.</summary>
    private sealed class CrossingSwarm : ReceiveActor
    {
        private IActorRef? _first;

        public CrossingSwarm(IActorRef asked)
        {
            Receive<Libp2p.Actors.Swarm.SwarmProtocol.GetListenAddresses>(_ =>
            {
                asked.Tell("asked");
                if (_first is null)
                    _first = Sender;
                else
                    Sender.Tell(new Libp2p.Actors.Swarm.SwarmProtocol.ListenAddressesAre([Listen]));
            });
            Receive<string>(m => m == "release", _ => _first!.Tell(new Libp2p.Actors.Swarm.SwarmProtocol.ListenAddressesAre([])));
        }
    }

    [Fact]
    public async Task A_stale_answer_about_the_listen_addresses_must_not_replace_a_newer_one()
    {
        var asked = CreateTestProbe();
        var advertised = CreateTestProbe();
        Sys.EventStream.Subscribe(advertised.Ref, typeof(AdvertisedAddressesChanged));
        var swarm = Sys.ActorOf(Props.Create(() => new CrossingSwarm(asked.Ref)));
        var manager = Sys.ActorOf(AddressManagerActor.Props(_local, swarm: swarm));
        asked.ExpectMsg("asked", Patience); // at start, once subscribed

        Sys.EventStream.Publish(new Libp2p.Actors.Swarm.SwarmProtocol.ListenStarted(_local, Listen));
        asked.ExpectMsg("asked", Patience);
        Assert.Equal([Listen], advertised.ExpectMsg<AdvertisedAddressesChanged>(Patience).Addresses);
        swarm.Tell("release");

        Assert.Equal([Listen], (await StateAsync(manager)).Listen);
    }

    [Fact]
    public async Task The_hole_punch_candidate_source_must_ask_the_manager()
    {
        var manager = Start();
        manager.Tell(Seen("198.51.100.1", External));
        Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> candidates = AddressManagerProtocol.HolePunchCandidateSource(manager, Patience);

        Assert.Equal([External], await candidates(CancellationToken.None));
    }

    [Fact]
    public async Task The_candidate_source_with_fallback_must_give_private_then_loopback_addresses_when_there_is_no_public_one()
    {
        var loopback = Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001");
        var lan = Start(null, Listen, loopback);
        var onlyLoopback = Start(null, loopback);

        Assert.Empty(await AddressManagerProtocol.HolePunchCandidateSource(lan, Patience)(CancellationToken.None));
        Assert.Equal([Listen], await AddressManagerProtocol.HolePunchCandidateSource(lan, Patience, fallBackToPrivate: true)(CancellationToken.None));
        Assert.Equal([loopback], await AddressManagerProtocol.HolePunchCandidateSource(onlyLoopback, Patience, fallBackToPrivate: true)(CancellationToken.None));
        lan.Tell(Seen("198.51.100.1", External));
        Assert.Equal([External], await AddressManagerProtocol.HolePunchCandidateSource(lan, Patience, fallBackToPrivate: true)(CancellationToken.None));
    }
}
