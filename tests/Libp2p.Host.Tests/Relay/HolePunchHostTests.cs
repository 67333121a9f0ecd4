using Akka.Configuration;
using Libp2p.Actors.Dcutr;
using Libp2p.Actors.Network;
using Libp2p.Actors.Relay;
using Libp2p.Actors.Swarm;
using Libp2p.Host.Services;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Dcutr;
using Libp2p.Protocols.Dcutr.Pb;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Host.Tests.Relay;

/// <summary>Hole punching (DCUtR) between hosts on loopback: the relayed connection is replaced by a direct one; broken exchanges are reset.</summary>
public sealed class HolePunchHostTests : HostTestKit
{
    private static readonly HolePunchSettings Quick = HolePunchSettings.Default with { StreamTimeout = TimeSpan.FromSeconds(1) };

    // A node of its own: TCP with port reuse (a registry per node), and the relay client.
    private static HostSettings Punching(HostSettings settings) => settings with
    {
        HolePunching = HolePunchSettings.Default,
        Swarm = settings.Swarm with
        {
            Transports = [new SocketTransport(reusePort: true), MemoryTransport.Instance, new RelayTransport(PeerId.FromPublicKey(settings.Identity.PublicKey))],
        },
    };

    [Fact]
    public async Task A_relayed_connection_must_be_replaced_by_a_direct_one_that_takes_streams_without_UseTransient()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(HolePunchProtocol.HolePunchSucceeded));
        Sys.EventStream.Subscribe(events.Ref, typeof(HolePunchProtocol.HolePunchFailed));
        var disconnected = CreateTestProbe();
        Sys.EventStream.Subscribe(disconnected.Ref, typeof(SwarmProtocol.Disconnected));
        var relay = await StartAsync(s => s with { RelayService = RelayServiceSettings.Default, HolePunching = null });
        var listener = await StartAsync(Punching);
        var dialer = await StartAsync(Punching);
        var reservation = await listener.ReserveAsync(await AddressOfAsync(relay)).WaitAsync(Patience);

        var relayed = await dialer.ConnectAsync(reservation.Addresses[0].Encapsulate($"/p2p/{listener.PeerId}")).WaitAsync(Patience);

        Assert.True(relayed.Stat.Transient);
        // The side that received the relayed connection punches, and says so.
        var punched = events.FishForMessage<SwarmProtocol.NodeEvent>(e => e is HolePunchProtocol.HolePunchSucceeded or HolePunchProtocol.HolePunchFailed, Patience);
        var succeeded = Assert.IsType<HolePunchProtocol.HolePunchSucceeded>(punched);
        Assert.Equal(listener.PeerId, succeeded.LocalPeer);
        Assert.Equal(dialer.PeerId, succeeded.Peer);
        Assert.Equal(1, succeeded.Attempts);
        Assert.False(succeeded.DirectAddress.Has(MultiaddrProtocol.P2pCircuit));
        // The relayed connection is closed on both sides.
        disconnected.FishForMessage<SwarmProtocol.Disconnected>(d => d.Connection.LocalPeer == dialer.PeerId && d.Connection.Stat.Transient, Patience);
        await AwaitAssertAsync(async () =>
        {
            var connections = await dialer.Network.ConnsAsync(listener.PeerId);
            Assert.NotEmpty(connections);
            Assert.All(connections, c => Assert.False(c.Stat.Transient));
        }, Patience);
        // Echo does not opt in to limited connections; on the direct one it needs no UseTransient.
        var rtt = await dialer.EchoAsync(listener.PeerId, new byte[64]).WaitAsync(Patience);
        Assert.True(rtt > TimeSpan.Zero);
        foreach (var host in new[] { dialer, listener, relay })
            await host.StopAsync().WaitAsync(Patience);
    }

    [Fact]
    public async Task A_punch_that_finds_no_way_must_be_reported_failed_and_leave_the_relayed_connection()
    {
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(HolePunchProtocol.HolePunchSucceeded));
        Sys.EventStream.Subscribe(events.Ref, typeof(HolePunchProtocol.HolePunchFailed));
        var relay = await StartAsync(s => s with { RelayService = RelayServiceSettings.Default, HolePunching = null });
        var listener = await StartAsync(s => Punching(s) with { HolePunching = HolePunchSettings.Default with { DialTimeout = TimeSpan.FromSeconds(1) } });
        // Listening nowhere: the only address it can offer is the one the relay saw, an ephemeral port nobody listens on.
        var dialer = await StartAsync(s => Punching(s) with { ListenAddresses = [] });
        var reservation = await listener.ReserveAsync(await AddressOfAsync(relay)).WaitAsync(Patience);

        await dialer.ConnectAsync(reservation.Addresses[0].Encapsulate($"/p2p/{listener.PeerId}")).WaitAsync(Patience);

        var punched = events.FishForMessage<SwarmProtocol.NodeEvent>(e => e is HolePunchProtocol.HolePunchSucceeded or HolePunchProtocol.HolePunchFailed, Patience);
        var failed = Assert.IsType<HolePunchProtocol.HolePunchFailed>(punched);
        Assert.Equal(listener.PeerId, failed.LocalPeer);
        Assert.Equal(dialer.PeerId, failed.Peer);
        Assert.StartsWith($"dcutr with {dialer.PeerId}: ", failed.Reason, StringComparison.Ordinal);
        Assert.InRange(failed.Attempts, 1, HolePunchSettings.Default.MaxAttempts);
        var left = Assert.Single(await dialer.Network.ConnsAsync(listener.PeerId));
        Assert.True(left.Stat.Transient);
    }

    [Fact]
    public async Task A_peer_that_never_sends_SYNC_must_have_its_stream_reset_at_the_deadline()
    {
        var (server, peer) = await ConnectedAsync();
        var stream = await peer.Network.NewStreamAsync(server.PeerId, [HolePunchMessages.ProtocolId]).WaitAsync(Patience);
        // Before the CONNECT: the server's deadline for the SYNC starts once it has answered, which
        // may be well before this side has read the answer on a loaded machine.
        var started = DateTime.UtcNow;

        await DelimitedMessages.WriteAsync(stream.Stream, HolePunchMessages.Connect([Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")]));
        var answer = await HolePunchMessages.ReadAsync(stream.Stream, HolePunch.Types.Type.Connect, CancellationToken.None).WaitAsync(Patience);

        Assert.NotEmpty(HolePunchMessages.Addresses(answer, _ => true));
        await Assert.ThrowsAsync<StreamResetException>(() => stream.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Patience));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.5), Patience);
    }

    [Fact]
    public async Task A_malformed_CONNECT_must_reset_the_stream()
    {
        var (server, peer) = await ConnectedAsync();
        var stream = await peer.Network.NewStreamAsync(server.PeerId, [HolePunchMessages.ProtocolId]).WaitAsync(Patience);

        // A SYNC where a CONNECT is due.
        await DelimitedMessages.WriteAsync(stream.Stream, HolePunchMessages.Sync());

        await Assert.ThrowsAsync<StreamResetException>(() => stream.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task A_stream_on_a_connection_the_server_accepted_must_be_refused()
    {
        var server = await StartAsync(s => s with { HolePunching = Quick });
        var peer = await StartAsync(s => s with { HolePunching = null });
        // The server serves only on connections it dialed; this one the peer dialed.
        await peer.ConnectAsync((await AddressOfAsync(server)).Encapsulate($"/p2p/{server.PeerId}")).WaitAsync(Patience);

        // The server resets as soon as the protocol is agreed: while the stream opens, or at the first read.
        await Assert.ThrowsAsync<StreamResetException>(async () =>
        {
            var stream = await peer.Network.NewStreamAsync(server.PeerId, [HolePunchMessages.ProtocolId]).WaitAsync(Patience);
            await DelimitedMessages.WriteAsync(stream.Stream, HolePunchMessages.Connect([Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")]));
            await stream.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Patience);
        });
    }

    [Fact]
    public async Task An_initiator_whose_peer_never_answers_CONNECT_must_give_up_at_the_deadline()
    {
        var (server, peer) = await ConnectedAsync();
        var held = new TaskCompletionSource<Actors.Connections.StreamHandle>(TaskCreationOptions.RunContinuationsAsynchronously);
        await peer.Network.SetStreamHandlerAsync(HolePunchMessages.ProtocolId, async stream =>
        {
            // Takes the CONNECT and never answers.
            await HolePunchMessages.ReadAsync(stream.Stream, HolePunch.Types.Type.Connect, CancellationToken.None);
            held.TrySetResult(stream);
            // Held open (a handler that returns has its stream closed) until the initiator resets it.
            await stream.Completion.ContinueWith(_ => { }, TaskScheduler.Default);
        });

        var error = await Assert.ThrowsAsync<HolePunchException>(() => HolePunchExchange.InitiateAsync(server.Network, peer.PeerId,
            _ => Task.FromResult<IReadOnlyList<Multiaddr>>([Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")]), _ => true, Quick).WaitAsync(Patience));

        Assert.Equal($"dcutr with {peer.PeerId}: the exchange broke in round 1: no Connect within 1 s", error.Message);
        Assert.Equal(1, error.Attempts);
        var stream = await held.Task.WaitAsync(Patience);
        await Assert.ThrowsAsync<StreamResetException>(() => stream.Stream.ReadAsync(new byte[1]).AsTask().WaitAsync(Patience));
    }

    [Fact]
    public void The_hole_punching_and_port_reuse_keys_must_read_from_HOCON()
    {
        var key = PrivateKey.Generate(KeyType.Ed25519);
        var defaults = HostSettings.FromConfig(ConfigurationFactory.Empty, key);
        Assert.Equal(HolePunchSettings.Default, defaults.HolePunching);
        Assert.NotNull(Assert.IsType<SocketTransport>(defaults.Swarm.Transports[0]).PortReuse);

        var custom = HostSettings.FromConfig(ConfigurationFactory.ParseString("""
            akka.libp2p.hole-punching { stream-timeout = 3s, dial-timeout = 2s, max-attempts = 1 }
            akka.libp2p.tcp.reuse-port = off
            """), key);
        Assert.Equal(new HolePunchSettings { StreamTimeout = TimeSpan.FromSeconds(3), DialTimeout = TimeSpan.FromSeconds(2), MaxAttempts = 1 }, custom.HolePunching);
        Assert.Same(SocketTransport.Instance, custom.Swarm.Transports[0]);

        Assert.Null(HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.hole-punching.enabled = off"), key).HolePunching);
        Assert.Null(HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.relay.client = off"), key).HolePunching);
        Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.hole-punching.max-attempts = 0"), key));
    }

    /// <summary>A DCUtR server with short deadlines that dialed a peer without hole punching of its own.</summary>
    private async Task<(Libp2pHost Server, Libp2pHost Peer)> ConnectedAsync()
    {
        var server = await StartAsync(s => s with { HolePunching = Quick });
        var peer = await StartAsync(s => s with { HolePunching = null });
        var connection = await server.ConnectAsync((await AddressOfAsync(peer)).Encapsulate($"/p2p/{peer.PeerId}")).WaitAsync(Patience);
        Assert.Equal(Direction.Outbound, connection.Stat.Direction);
        // The peer's side is adopted a moment after the server's: its streams must find it.
        await AwaitAssertAsync(async () => Assert.NotEmpty(await peer.Network.ConnsAsync(server.PeerId)), Patience);
        return (server, peer);
    }
}
