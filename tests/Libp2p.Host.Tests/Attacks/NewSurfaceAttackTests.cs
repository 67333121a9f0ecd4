using Akka.Actor;
using Google.Protobuf;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Dcutr;
using Libp2p.Actors.Relay;
using Libp2p.Actors.Resources;
using Libp2p.Host.Services;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Dcutr;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay;

namespace Libp2p.Host.Tests.Attacks;

/// <summary>
/// A misbehaving remote peer against the newer protocol surfaces (relay v2 hop, identify push,
/// DCUtR): each test drives a host as a raw peer and asserts what the docs promise.
/// </summary>
public sealed class NewSurfaceAttackTests : HostTestKit
{
    /// <summary>
    /// docs/relay.md: HandshakeTimeout is "the deadline of each hop or stop exchange: a peer silent
    /// longer loses its stream". A peer that sends its request one byte at a time, each byte just
    /// inside the deadline, must lose the stream all the same: the deadline is the exchange's, not
    /// each read's, or a 4 KiB request holds a relay-service stream (and its 4 KiB reservation)
    /// for 4096 deadlines.
    /// </summary>
    [Fact]
    public async Task A_hop_request_trickled_a_byte_at_a_time_must_be_reset_at_the_handshake_deadline()
    {
        var deadline = TimeSpan.FromSeconds(1);
        var relay = await StartAsync(s => s with { RelayService = RelayServiceSettings.Default with { HandshakeTimeout = deadline } });
        var attacker = await StartAsync();
        await attacker.ConnectAsync((await AddressOfAsync(relay)).Encapsulate($"/p2p/{relay.PeerId}")).WaitAsync(Patience);
        var stream = await attacker.Network.NewStreamAsync(relay.PeerId, [CircuitRelay.HopProtocolId]).WaitAsync(Patience);
        // A RESERVE (type = 0) padded with an unknown bytes field (15) to 100 bytes: a valid request, under 4 KiB.
        var body = new byte[100];
        body[0] = 0x08;
        body[1] = 0x00;
        body[2] = 0x7A;
        body[3] = 96;
        var frame = new byte[] { 100 }.Concat(body).ToArray();
        var reset = stream.Stream.ReadAsync(new byte[1]).AsTask();
        var started = DateTime.UtcNow;

        var sent = 0;
        // One byte a third of the deadline apart, for up to six deadlines (slack for a loaded
        // machine): no read waits longer than its deadline, so only the request's deadline cuts it.
        while (sent < frame.Length && DateTime.UtcNow - started < 6 * deadline && !reset.IsCompleted)
        {
            await stream.Stream.WriteAsync(frame.AsMemory(sent++, 1));
            await stream.Stream.FlushAsync();
            await Task.WhenAny(reset, Task.Delay(deadline / 3));
        }

        Assert.True(reset.IsCompleted,
            $"the relay still holds the hop stream {DateTime.UtcNow - started} after it opened ({sent} of {frame.Length} bytes trickled), with a handshake deadline of {deadline}");
        await Assert.ThrowsAsync<StreamResetException>(() => reset);
    }

    /// <summary>
    /// "No peer can take a node-wide budget from others": the identify service's scope
    /// (<c>libp2p.identify</c>, 64 inbound streams plus 64 per GiB) is the whole node's, and one
    /// peer's scope allows 256 inbound streams. A peer that opens identify push streams and sends
    /// nothing holds each for 30 s; with the service full, every other peer's identify of this node
    /// is refused, so nobody learns its protocols or addresses.
    /// </summary>
    [Fact]
    public async Task One_peer_holding_identify_push_streams_must_not_stop_other_peers_identifying_the_node()
    {
        var target = await StartAsync();
        // The attacker's own limits are its business: none.
        var attacker = await StartAsync(s => s with { Swarm = s.Swarm with { Resources = new ResourceManager(new ResourceLimits()) } });
        var victim = await StartAsync();
        var address = (await AddressOfAsync(target)).Encapsulate($"/p2p/{target.PeerId}");
        await attacker.ConnectAsync(address).WaitAsync(Patience);
        var resources = target.Settings.Swarm.Resources;
        var limit = (await resources.ViewServiceAsync(ServiceNames.Identify)).Limit.StreamsInbound;
        // As many as would fill the whole service, and a few more: it holds its share (go-libp2p's 16).
        var held = await HoldStreamsAsync(attacker, target, IdentifyService.PushProtocolId, ServiceNames.Identify, limit + 4);

        await victim.ConnectAsync(address).WaitAsync(Patience);
        var identified = await victim.IdentifyAsync(target.PeerId).WaitAsync(Patience);

        Assert.Equal(target.PeerId, identified.Peer);
        GC.KeepAlive(held);
    }

    /// <summary>
    /// A peer gone must leave nothing of itself in the identify service: a push read just before the
    /// last connection closed reaches the service after its Disconnected, and was kept for good, so a
    /// peer bringing a fresh identity to every connection grew the table without end.
    /// </summary>
    [Fact]
    public async Task An_identify_push_that_arrives_after_its_peer_disconnected_must_leave_no_result_behind()
    {
        var target = await StartAsync();
        var peer = await StartAsync();
        var identify = await Sys.ActorSelection(target.Actor.Path / "identify").ResolveOne(Patience);
        async Task<int> KeptAsync() => (await identify.Ask<IdentifyActor.ResultsKept>(IdentifyActor.CountResults.Instance, Patience)).Count;
        await peer.ConnectAsync((await AddressOfAsync(target)).Encapsulate($"/p2p/{target.PeerId}")).WaitAsync(Patience);
        await AwaitAssertAsync(async () => Assert.Equal(1, await KeptAsync()), Patience);
        var connection = Assert.Single(await target.Network.ConnsAsync(peer.PeerId));
        var swarm = (await peer.Actor.Ask<HostActor.SwarmIs>(HostActor.GetSwarm.Instance, Patience)).Swarm;
        var push = await IdentifyService.BuildAsync(peer.Settings, swarm, observed: null);

        await peer.Network.ClosePeerAsync(target.PeerId).WaitAsync(Patience);
        await AwaitAssertAsync(async () => Assert.Equal(0, await KeptAsync()), Patience);
        identify.Tell(new IdentifyActor.PushReceived(connection, push));

        Assert.Equal(0, await KeptAsync());
    }

    /// <summary>
    /// The same for DCUtR: the hole-punching service (<c>libp2p.holepunch</c>, 32 inbound streams
    /// plus 8 per GiB) is node-wide. A peer this node dialed opens dcutr streams and sends nothing;
    /// each is held for the stream timeout (60 s), so no other peer can hole punch with this node.
    /// </summary>
    [Fact]
    public async Task One_peer_holding_dcutr_streams_must_not_stop_another_peer_hole_punching_with_the_node()
    {
        var server = await StartAsync(s => s with { HolePunching = HolePunchSettings.Default });
        var attacker = await StartAsync(s => s with { HolePunching = null });
        var other = await StartAsync(s => s with { HolePunching = null });
        // The server serves dcutr only on connections it dialed.
        foreach (var peer in new[] { attacker, other })
        {
            await server.ConnectAsync((await AddressOfAsync(peer)).Encapsulate($"/p2p/{peer.PeerId}")).WaitAsync(Patience);
            await AwaitAssertAsync(async () => Assert.NotEmpty(await peer.Network.ConnsAsync(server.PeerId)), Patience);
        }
        var resources = server.Settings.Swarm.Resources;
        var limit = (await resources.ViewServiceAsync(ServiceNames.HolePunch)).Limit.StreamsInbound;
        // As many as would fill the whole service: it holds its share (go-libp2p's 2).
        var held = await HoldStreamsAsync(attacker, server, HolePunchMessages.ProtocolId, ServiceNames.HolePunch, limit);

        var stream = await other.Network.NewStreamAsync(server.PeerId, [HolePunchMessages.ProtocolId]).WaitAsync(Patience);
        await DelimitedMessages.WriteAsync(stream.Stream, HolePunchMessages.Connect([Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")]));
        var answer = await HolePunchMessages.ReadAsync(stream.Stream, Protocols.Dcutr.Pb.HolePunch.Types.Type.Connect, CancellationToken.None).WaitAsync(Patience);

        Assert.NotEmpty(HolePunchMessages.Addresses(answer, _ => true));
        GC.KeepAlive(held);
    }
    /// <summary>
    /// AutoNAT v2's dial data exists so a server cannot be aimed at a third party: it dials an IP
    /// other than the one the request came from only once the requester paid. Over a relayed
    /// connection the "remote address" is the relay's (<c>/ip4/R/tcp/N/p2p/relay/p2p-circuit/…</c>),
    /// so a requester behind the relay gets the relay's IP dialed, any port, for free.
    /// </summary>
    [Fact]
    public async Task An_autonat_request_over_a_relayed_connection_must_not_get_the_relays_IP_dialed_without_dial_data()
    {
        static HostSettings RelayClient(HostSettings s) => s with
        {
            HolePunching = null,
            Swarm = s.Swarm with { Transports = [.. s.Swarm.Transports, new RelayTransport(PeerId.FromPublicKey(s.Identity.PublicKey))] },
        };
        var relay = await StartAsync(s => s with { RelayService = RelayServiceSettings.Default, HolePunching = null });
        var server = await StartAsync(s => RelayClient(s) with { AutoNatService = new AutoNatServerSettings { AllowPrivateAddresses = true } });
        // The attacker's own IP is 127.0.0.2; the relay's is 127.0.0.1.
        var attacker = await StartAsync(s => RelayClient(s) with { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.2/tcp/0")] });
        var relayAddress = await AddressOfAsync(relay);
        var reservation = await server.ReserveAsync(relayAddress).WaitAsync(Patience);
        var relayed = await attacker.ConnectAsync(reservation.Addresses[0].Encapsulate($"/p2p/{server.PeerId}")).WaitAsync(Patience);
        Assert.True(relayed.Stat.Transient);
        var stream = await attacker.Network.NewStreamAsync(server.PeerId, [AutoNatV2.DialRequestProtocolId],
            DialOptions.Default.WithUseTransient("the attack")).WaitAsync(Patience);
        Assert.True(stream.Connection.Stat.Transient);

        // The relay's IP, another port of it.
        var request = new Protocols.AutoNat.Pb.DialRequest { Nonce = 42 };
        request.Addrs.Add(ByteString.CopyFrom(Multiaddr.Parse("/ip4/127.0.0.1/tcp/9").Bytes));
        await DelimitedMessages.WriteAsync(stream.Stream, new Protocols.AutoNat.Pb.Message { DialRequest = request });
        var answer = await DelimitedMessages.ReadAsync(stream.Stream, Protocols.AutoNat.Pb.Message.Parser, AutoNatV2.MaxMessageSize, "test").WaitAsync(Patience);

        Assert.NotNull(answer);
        Assert.True(answer.MsgCase == Protocols.AutoNat.Pb.Message.MsgOneofCase.DialDataRequest,
            $"the server answered {answer} without asking for dial data: it dialed the relay's IP for a peer behind the relay");
    }

    /// <summary>
    /// Opens <paramref name="attempts"/> streams of <paramref name="protocol"/> from
    /// <paramref name="attacker"/> and sends nothing; those over its share of
    /// <paramref name="service"/> are reset by <paramref name="target"/>. Returns what it holds,
    /// once the target counts exactly the share against it, and the share is less than the service.
    /// </summary>
    private async Task<List<StreamHandle>> HoldStreamsAsync(Libp2pHost attacker, Libp2pHost target, string protocol, string service, int attempts)
    {
        var resources = target.Settings.Swarm.Resources;
        var share = (await resources.ViewServicePeerAsync(service, attacker.PeerId)).Limit.StreamsInbound;
        var limit = (await resources.ViewServiceAsync(service)).Limit.StreamsInbound;
        var held = new List<StreamHandle>();
        for (var i = 0; i < attempts; i++)
        {
            try
            {
                held.Add(await attacker.Network.NewStreamAsync(target.PeerId, [protocol]).WaitAsync(Patience));
            }
            catch (StreamResetException)
            {
                // Over the attacker's share: the target reset it, as it should.
            }
        }
        await AwaitAssertAsync(async () =>
            Assert.Equal(share, (await resources.ViewServicePeerAsync(service, attacker.PeerId)).Usage.NumStreamsInbound), Patience);
        Assert.True(share < limit, $"a peer's share ({share}) is less than the service ({limit})");
        return held;
    }
}
