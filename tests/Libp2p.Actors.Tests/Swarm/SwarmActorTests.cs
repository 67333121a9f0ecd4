using Akka.Actor;
using Akka.TestKit;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Swarm;

public sealed class SwarmActorTests : SwarmTestKit
{
    [Fact]
    public async Task A_dial_must_connect_both_sides_and_publish_Connected_on_each()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.Connected));
        var a = StartHost();
        var b = StartHost();

        var dialed = Dial(b, a);

        Assert.Equal(a.Peer, dialed.Connection.RemotePeer);
        Assert.Equal(Direction.Outbound, dialed.Connection.Stat.Direction);
        var seen = new[] { events.ExpectMsg<SwarmProtocol.Connected>(Patience), events.ExpectMsg<SwarmProtocol.Connected>(Patience) };
        Assert.Contains(seen, e => e.Connection.LocalPeer == b.Peer && e.Connection.RemotePeer == a.Peer);
        Assert.Contains(seen, e => e.Connection.LocalPeer == a.Peer && e.Connection.RemotePeer == b.Peer && e.Connection.Stat.Direction == Direction.Inbound);
        Assert.Equal(Connectedness.Connected, ConnectednessOf(b, a.Peer));
        Assert.Equal([a.Peer], (await b.Swarm.Ask<SwarmProtocol.PeersAre>(SwarmProtocol.GetPeers.Instance, Patience)).Peers);
        CloseAll(a, b);
    }

    [Fact]
    public void Every_event_must_name_its_node_and_reach_a_subscriber_of_the_base_type()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.NodeEvent));
        var a = StartHost();
        var b = StartHost(listen: "");
        SetHandler(a, "/echo/1.0.0", Echo);
        Dial(b, a);
        // The listening side adopts the connection on its own time: close only once both have.
        var opened = events.ReceiveN(4, Patience);

        CloseAll(a, b);

        // Each Swarm publishes its events before it answers Closed: all seven are in.
        var seen = opened.Concat(events.ReceiveN(3, Patience)).Cast<SwarmProtocol.NodeEvent>().ToArray();
        Assert.Equal(["Connected", "Disconnected", "ListenClosed", "ListenStarted", "ProtocolsChanged"],
            seen.Where(e => e.LocalPeer == a.Peer).Select(e => e.GetType().Name).Order(StringComparer.Ordinal));
        Assert.Equal(["Connected", "Disconnected"], seen.Where(e => e.LocalPeer == b.Peer).Select(e => e.GetType().Name).Order(StringComparer.Ordinal));
        Assert.All(seen.OfType<SwarmProtocol.Connected>(), c => Assert.Equal(c.Connection.LocalPeer, c.LocalPeer));
        events.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public async Task Concurrent_dials_must_share_one_connection()
    {
        var a = StartHost();
        var b = StartHost();

        var dials = Enumerable.Range(0, 10)
            .Select(_ => b.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, a.Addresses), Patience))
            .ToArray();
        var all = await Task.WhenAll(dials);

        Assert.Single(all.Select(d => d.Connection.Id).Distinct());
        Assert.Single(Conns(b, a.Peer));
        CloseAll(a, b);
    }

    [Fact]
    public async Task A_live_connection_must_be_reused()
    {
        var a = StartHost();
        var b = StartHost();
        var first = Dial(b, a);
        var second = (await b.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default.WithNoDial("reuse only")), Patience));
        Assert.Equal(first.Connection.Id, second.Connection.Id);
        CloseAll(a, b);
    }

    [Fact]
    public async Task Dialing_oneself_must_be_refused()
    {
        var a = StartHost();
        var reply = (await a.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, a.Addresses), Patience));
        Assert.Contains("dial to self attempted", reply.Reason.Message, StringComparison.Ordinal);
        CloseAll(a);
    }

    [Fact]
    public async Task NoDial_without_a_connection_must_fail_with_ErrNoConn()
    {
        var a = StartHost();
        var b = StartHost();
        var reply = (await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default.WithNoDial("test"), a.Addresses), Patience));
        var error = Assert.IsType<NoConnectionException>(reply.Reason);
        Assert.Equal($"no usable connection to peer {a.Peer}: test", error.Message);
        CloseAll(a, b);
    }

    [Fact]
    public async Task A_dial_with_addresses_must_not_ask_the_peerstore()
    {
        var a = StartHost();
        var peerstore = CreateTestProbe();
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var b = Sys.ActorOf(SwarmActor.Props(new SwarmSettings(key), peerstore.Ref), "swarm-given-addresses");

        await b.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, a.Addresses), Patience);

        // What the Swarm records of the new connection is the first the peerstore hears: no GetAddresses went before.
        Assert.Equal(a.Peer, peerstore.ExpectMsg<PeerstoreProtocol.AddAddresses>(Patience).Peer);
        Assert.Equal(a.Peer, peerstore.ExpectMsg<PeerstoreProtocol.AddPublicKey>(Patience).Peer);
        await b.Ask<SwarmProtocol.Closed>(SwarmProtocol.Close.Instance, Patience);
        CloseAll(a);
    }

    [Fact]
    public async Task A_dial_without_addresses_must_take_them_from_the_peerstore()
    {
        var a = StartHost();
        var peerstore = CreateTestProbe();
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var b = Sys.ActorOf(SwarmActor.Props(new SwarmSettings(key), peerstore.Ref), "swarm-peerstore-addresses");

        var dialed = b.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default), Patience);

        Assert.Equal(a.Peer, peerstore.ExpectMsg<PeerstoreProtocol.GetAddresses>(Patience).Peer);
        peerstore.Reply(new PeerstoreProtocol.AddressesAre(a.Peer, a.Addresses));
        Assert.Equal(a.Peer, (await dialed).Connection.RemotePeer);
        await b.Ask<SwarmProtocol.Closed>(SwarmProtocol.Close.Instance, Patience);
        CloseAll(a);
    }

    [Fact]
    public async Task A_peer_without_addresses_must_fail_with_ErrNoRemoteAddrs()
    {
        var a = StartHost(listen: "");
        var b = StartHost();
        var reply = (await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default), Patience));
        Assert.IsType<NoRemoteAddressesException>(reply.Reason);
        CloseAll(a, b);
    }

    [Fact]
    public async Task A_dial_must_time_out_and_say_so()
    {
        // A memory listener that accepts and never speaks.
        var silent = MemoryTransportSilentListener();
        var b = StartHost();
        using var other = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(other.PublicKey);

        var reply = (await b.Swarm.Ask<SwarmProtocol.DialFailed>(
            new SwarmProtocol.Dial(peer, DialOptions.Default.WithTimeout(TimeSpan.FromMilliseconds(500)), [silent]), Patience));

        Assert.Contains("timed out after 0.5 s", reply.Reason.Message, StringComparison.Ordinal);
        Assert.Equal(Connectedness.CannotConnect, ConnectednessOf(b, peer));
        CloseAll(b);
    }

    [Theory]
    [InlineData(4, 1)]
    [InlineData(1, 4)]
    public void Dials_that_share_one_dial_of_a_peer_must_each_keep_their_own_timeout(int firstSeconds, int secondSeconds)
    {
        // As the seed's WithDialPeerTimeout: each call's own. The second dial joins the one the
        // first started; a listener that accepts and never speaks lets both run to their deadlines.
        var silent = MemoryTransportSilentListener();
        var b = StartHost();
        using var other = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(other.PublicKey);
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        var started = System.Diagnostics.Stopwatch.StartNew();

        b.Swarm.Tell(new SwarmProtocol.Dial(peer, DialOptions.Default.WithTimeout(TimeSpan.FromSeconds(firstSeconds)), [silent]), first.Ref);
        b.Swarm.Tell(new SwarmProtocol.Dial(peer, DialOptions.Default.WithTimeout(TimeSpan.FromSeconds(secondSeconds)), [silent]), second.Ref);

        var (sooner, later) = firstSeconds < secondSeconds ? ((Probe: first, Seconds: firstSeconds), (Probe: second, Seconds: secondSeconds)) : ((Probe: second, Seconds: secondSeconds), (Probe: first, Seconds: firstSeconds));
        var early = sooner.Probe.ExpectMsg<SwarmProtocol.DialFailed>(Patience);
        Assert.Contains($"timed out after {sooner.Seconds} s", early.Reason.Message, StringComparison.Ordinal);
        // Not held to the other's deadline (the scheduler's tick is the slack allowed either way).
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(sooner.Seconds - 0.1), TimeSpan.FromSeconds(later.Seconds - 0.1));
        later.Probe.ExpectNoMsg(TimeSpan.Zero);
        var late = later.Probe.ExpectMsg<SwarmProtocol.DialFailed>(Patience);
        Assert.Contains($"timed out after {later.Seconds} s", late.Reason.Message, StringComparison.Ordinal);
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(later.Seconds - 0.1), $"failed after {started.Elapsed}, before its own deadline");
        CloseAll(b);
    }

    [Fact]
    public async Task What_the_Swarm_remembers_of_peers_it_is_not_connected_to_must_stay_bounded()
    {
        // Each failed dial (or ended connection) leaves a CannotConnect (CanConnect) behind, and a
        // peer can bring a fresh identity every time: only the most recent 1,024 peers are kept.
        var b = StartHost();
        var nobody = Multiaddr.Parse("/memory/987654");
        var peers = new List<PeerId>();
        for (var i = 0; i < 1_100; i++)
        {
            using var key = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
            peers.Add(PeerId.FromPublicKey(key.PublicKey));
        }

        // The first alone, so it is the oldest: dials of one chunk fail in any order.
        Task<SwarmProtocol.DialFailed> Fail(PeerId p) => b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(p, DialOptions.Default, [nobody]), Patience);
        await Fail(peers[0]);
        foreach (var chunk in peers.Skip(1).Chunk(100))
            await Task.WhenAll(chunk.Select(Fail));

        Assert.Equal(Connectedness.CannotConnect, ConnectednessOf(b, peers[^1]));
        Assert.Equal(Connectedness.NotConnected, ConnectednessOf(b, peers[0]));
        CloseAll(b);
    }

    private Multiaddr MemoryTransportSilentListener()
    {
        var materializer = Akka.Streams.ActorMaterializer.Create(Sys);
        var bound = Protocols.Transport.MemoryTransport.Instance.Listen(Sys, Multiaddr.Parse("/memory/0"))
            .To(Akka.Streams.Dsl.Sink.ForEach<Protocols.Transport.InboundConnection>(c =>
                Akka.Streams.Dsl.Source.Never<Akka.IO.ByteString>().Via(c.Flow).RunWith(Akka.Streams.Dsl.Sink.Ignore<Akka.IO.ByteString>(), materializer)))
            .Run(materializer);
        return bound.Result.Address;
    }

    [Fact]
    public async Task A_failed_dial_must_back_off_until_the_clock_moves_on()
    {
        var clock = new ManualClock();
        var b = StartHost(configure: s => s with { Clock = clock, BackoffBase = TimeSpan.FromSeconds(5) });
        using var other = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(other.PublicKey);
        Multiaddr nowhere = Multiaddr.Parse("/memory/1234567");

        var first = (await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(peer, DialOptions.Default, [nowhere]), Patience));
        var second = (await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(peer, DialOptions.Default, [nowhere]), Patience));
        clock.Advance(TimeSpan.FromSeconds(6));
        var third = (await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(peer, DialOptions.Default, [nowhere]), Patience));

        var attempt = Assert.IsType<DialException>(first.Reason);
        Assert.Contains("/memory/1234567: ", attempt.Message, StringComparison.Ordinal);
        Assert.Contains("nothing listens there", attempt.Message, StringComparison.Ordinal);
        Assert.EndsWith("dial backoff: the address failed once lately; retry in 5.0 s", second.Reason.Message, StringComparison.Ordinal);
        Assert.Contains("all addresses failed", third.Reason.Message, StringComparison.Ordinal);
        CloseAll(b);
    }

    [Fact]
    public async Task A_failed_dial_to_one_address_must_not_stop_a_dial_to_another_address_of_the_same_peer()
    {
        // go-libp2p backs off per (peer, address): a mistyped address must not hold back the right one.
        var clock = new ManualClock();
        var a = StartHost("/memory/0");
        var b = StartHost("", configure: s => s with { Clock = clock });
        var wrong = Multiaddr.Parse("/memory/987654321");

        var failed = await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, [wrong]), Patience);
        var backedOff = await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, [wrong]), Patience);
        clock.Advance(TimeSpan.FromSeconds(1.05));
        var stillBackedOff = await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, [wrong]), Patience);
        var dialed = await b.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, a.Addresses), Patience);

        Assert.Contains("all addresses failed", Assert.IsType<DialException>(failed.Reason).Message, StringComparison.Ordinal);
        Assert.EndsWith("retry in 5.0 s", Assert.IsType<DialException>(backedOff.Reason).Message, StringComparison.Ordinal);
        Assert.EndsWith("retry in 4.0 s", stillBackedOff.Reason.Message, StringComparison.Ordinal);
        Assert.Equal(a.Peer, dialed.Connection.RemotePeer);
        CloseAll(a, b);
    }

    [Fact]
    public async Task A_dial_with_a_backed_off_and_a_fresh_address_must_try_the_fresh_one()
    {
        var clock = new ManualClock();
        var a = StartHost("/memory/0");
        var b = StartHost("", configure: s => s with { Clock = clock });
        var wrong = Multiaddr.Parse("/memory/987654322");

        await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, [wrong]), Patience);
        var dialed = await b.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, [wrong, .. a.Addresses]), Patience);

        Assert.Equal(a.Peer, dialed.Connection.RemotePeer);
        CloseAll(a, b);
    }

    [Fact]
    public async Task An_address_no_transport_dials_must_fail_with_ErrNoTransport_naming_it()
    {
        var a = StartHost("/memory/0");
        var b = StartHost("");
        var quic = Multiaddr.Parse("/ip4/127.0.0.1/udp/4001/quic-v1");

        var reply = await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(a.Peer, DialOptions.Default, [quic]), Patience);

        Assert.Equal("no transport for /ip4/127.0.0.1/udp/4001/quic-v1", Assert.IsType<NoTransportException>(reply.Reason).Message);
        CloseAll(a, b);
    }

    [Fact]
    public async Task A_dial_right_after_a_failed_one_to_the_same_peer_must_fail_too_not_hang()
    {
        // A failed dial reports before its actor has stopped; the next dial of the same peer used to
        // take the same actor name, the Swarm threw and restarted, and the dialer was never answered.
        var clock = new ManualClock();
        var b = StartHost("", configure: s => s with { Clock = clock });
        using var other = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(other.PublicKey);
        Multiaddr nowhere = Multiaddr.Parse("/memory/987654320");

        for (var i = 0; i < 200; i++)
        {
            var reply = await b.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(peer, DialOptions.Default, [nowhere]), Patience);
            Assert.Contains("all addresses failed", reply.Reason.Message, StringComparison.Ordinal);
            clock.Advance(TimeSpan.FromMinutes(10));
        }
        CloseAll(b);
    }

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/0")]
    [InlineData("/memory/0")]
    public async Task Streams_must_open_both_ways_and_echo(string listen)
    {
        var a = StartHost(listen);
        var b = StartHost(listen);
        SetHandler(a, "/echo/1.0.0", Echo);
        SetHandler(b, "/echo/1.0.0", Echo);
        var data = RandomBytes(300_000);

        var fromB = await OpenAsync(b, a, "/echo/1.0.0");
        Assert.Equal(data, await EchoThroughAsync(fromB, data));
        Assert.Equal("/echo/1.0.0", fromB.Protocol);
        Assert.Equal(Direction.Outbound, fromB.Stat.Direction);

        // The connection is shared: A opens its stream back over it.
        var fromA = await OpenAsync(a, b, "/echo/1.0.0");
        Assert.Equal(data, await EchoThroughAsync(fromA, data));
        Assert.True(fromB.Connection.Id.Value > 0);
        Assert.Single(Conns(a, b.Peer));
        CloseAll(a, b);
    }

    [Fact]
    public async Task An_actor_handler_must_get_each_stream()
    {
        var a = StartHost();
        var b = StartHost();
        SetHandler(a, "/echo/1.0.0", StreamHandler.From(Props.Create(() => new EchoActor())));

        var stream = await OpenAsync(b, a, "/echo/1.0.0");

        Assert.Equal("actor"u8.ToArray(), await EchoThroughAsync(stream, "actor"u8.ToArray()));
        CloseAll(a, b);
    }

    [Fact]
    public async Task Closing_a_stream_must_end_a_read_waiting_on_it_with_an_error_not_the_end_of_the_stream()
    {
        var a = StartHost();
        var b = StartHost();
        var held = new TaskCompletionSource();
        SetHandler(a, "/silent/1.0.0", StreamHandler.From(_ => held.Task));
        var stream = await OpenAsync(b, a, "/silent/1.0.0");
        var reading = stream.Stream.ReadAsync(new byte[16]).AsTask();

        stream.Close();

        var error = await Assert.ThrowsAsync<StreamClosedException>(() => reading.WaitAsync(Patience));
        Assert.EndsWith(" was closed for reading", error.Message, StringComparison.Ordinal);
        await stream.Completion.WaitAsync(Patience);
        held.SetResult();
        CloseAll(a, b);
    }

    private sealed class EchoActor : ReceiveActor
    {
        public EchoActor() => ReceiveAsync<StreamAccepted>(async accepted =>
        {
            await accepted.Stream.Stream.CopyToAsync(accepted.Stream.Stream);
            Context.Stop(Self);
        });
    }

    [Fact]
    public async Task A_throwing_handler_must_reset_its_stream_and_nothing_else()
    {
        var a = StartHost();
        var b = StartHost();
        SetHandler(a, "/boom/1.0.0", StreamHandler.From(_ => throw new InvalidOperationException("boom")));
        SetHandler(a, "/echo/1.0.0", Echo);

        // The reset may beat the negotiation's last message: then the open itself fails with it.
        try
        {
            var doomed = await OpenAsync(b, a, "/boom/1.0.0");
            await Assert.ThrowsAsync<StreamResetException>(() => doomed.Completion.WaitAsync(Patience));
        }
        catch (StreamResetException)
        {
        }

        var fine = await OpenAsync(b, a, "/echo/1.0.0");
        Assert.Equal("still here"u8.ToArray(), await EchoThroughAsync(fine, "still here"u8.ToArray()));
        Assert.Single(Conns(b, a.Peer));
        CloseAll(a, b);
    }

    [Fact]
    public async Task An_unsupported_protocol_must_fail_the_stream_not_the_connection()
    {
        var a = StartHost();
        var b = StartHost();
        SetHandler(a, "/echo/1.0.0", Echo);
        Dial(b, a);

        var error = await Assert.ThrowsAsync<Protocols.Multistream.MultistreamException>(() => OpenAsync(b, a, "/nope/1.0.0"));

        Assert.Equal(Protocols.Multistream.MultistreamFailure.NoneSupported, error.Reason);
        Assert.Single(Conns(b, a.Peer));
        CloseAll(a, b);
    }

    [Fact]
    public async Task ClosePeer_must_disconnect_both_sides_once_and_leave_CanConnect()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.Disconnected));
        var a = StartHost();
        var b = StartHost();
        var connection = DialBothSides(b, a).Connection;

        await b.Swarm.Ask<SwarmProtocol.PeerClosed>(new SwarmProtocol.ClosePeer(a.Peer), Patience);

        var gone = new[] { events.ExpectMsg<SwarmProtocol.Disconnected>(Patience), events.ExpectMsg<SwarmProtocol.Disconnected>(Patience) };
        Assert.Contains(gone, d => d.Connection.Id == connection.Id && d.Connection.LocalPeer == b.Peer);
        Assert.Equal(Connectedness.CanConnect, ConnectednessOf(b, a.Peer));
        CloseAll(a, b);
        // Both Swarms have closed, so any second Disconnected was published before they answered: it would be queued by now.
        events.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public async Task Close_must_close_listeners_then_connections_and_leave_nothing()
    {
        var events = CreateTestProbe();
        var connected = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.ListenClosed));
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.Disconnected));
        Sys.EventStream.Subscribe(connected.Ref, typeof(SwarmProtocol.Connected));
        var a = StartHost();
        var b = StartHost();
        Dial(b, a);
        connected.FishForMessage<SwarmProtocol.Connected>(c => c.Connection.LocalPeer == a.Peer, Patience);

        await a.Swarm.Ask<SwarmProtocol.Closed>(SwarmProtocol.Close.Instance, Patience);

        // A's own events, in order: its listener closes before its connection goes.
        var ofA = new List<object>();
        while (ofA.Count < 2)
        {
            var e = events.ExpectMsg<object>(Patience);
            if (e is SwarmProtocol.ListenClosed { LocalPeer: var l } && l == a.Peer || e is SwarmProtocol.Disconnected { Connection.LocalPeer: var d } && d == a.Peer)
                ofA.Add(e);
        }
        Assert.IsType<SwarmProtocol.ListenClosed>(ofA[0]);
        Assert.IsType<SwarmProtocol.Disconnected>(ofA[1]);
        Assert.Empty(Conns(a));
        Assert.Empty((await a.Swarm.Ask<SwarmProtocol.ListenAddressesAre>(new SwarmProtocol.GetListenAddresses(), Patience)).Addresses);
        var children = await Sys.ActorSelection(a.Swarm.Path / "conn-*").Ask<ActorIdentity>(new Identify(1), Patience);
        Assert.Null(children.Subject);
        CloseAll(b);
    }

    [Fact]
    public async Task A_closed_swarm_must_still_answer_every_query()
    {
        var connected = CreateTestProbe();
        Sys.EventStream.Subscribe(connected.Ref, typeof(SwarmProtocol.Connected));
        var a = StartHost();
        var b = StartHost(listen: "");
        SetHandler(a, "/echo/1.0.0", Echo);
        Dial(b, a);
        // The listening side adopts the connection on its own time: close only once both have.
        connected.ReceiveN(2, Patience);

        CloseAll(a, b);

        Assert.Equal(["/echo/1.0.0"], (await a.Swarm.Ask<SwarmProtocol.ProtocolsAre>(SwarmProtocol.GetProtocols.Instance, Patience)).Protocols);
        Assert.Empty((await a.Swarm.Ask<SwarmProtocol.ListenAddressesAre>(new SwarmProtocol.GetListenAddresses(), Patience)).Addresses);
        Assert.Empty((await a.Swarm.Ask<SwarmProtocol.PeersAre>(SwarmProtocol.GetPeers.Instance, Patience)).Peers);
        Assert.Empty((await a.Swarm.Ask<SwarmProtocol.ConnsAre>(new SwarmProtocol.GetConns(b.Peer), Patience)).Connections);
        Assert.Equal(Connectedness.CanConnect, ConnectednessOf(a, b.Peer));
    }

    [Fact]
    public async Task Listen_addresses_must_report_the_bound_port_and_expand_any_address()
    {
        var a = StartHost("/ip4/0.0.0.0/tcp/0");
        var bound = (await a.Swarm.Ask<SwarmProtocol.ListenAddressesAre>(new SwarmProtocol.GetListenAddresses(), Patience)).Addresses;
        var expanded = (await a.Swarm.Ask<SwarmProtocol.ListenAddressesAre>(new SwarmProtocol.GetListenAddresses(ExpandInterfaces: true), Patience)).Addresses;
        var port = Assert.Single(bound).ValueFor("tcp");
        Assert.NotEqual("0", port);
        Assert.Contains(expanded, e => e.ToString() == $"/ip4/127.0.0.1/tcp/{port}");
        CloseAll(a);
    }
}
