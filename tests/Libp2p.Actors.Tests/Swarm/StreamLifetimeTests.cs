using Akka.Actor;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>Streams that end are released at once, while their connection lives on.</summary>
public sealed class StreamLifetimeTests : SwarmTestKit
{
    [Fact]
    public async Task The_2000th_sequential_echo_on_one_connection_must_work_and_leave_no_stream_behind()
    {
        var serverResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var clientResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var server = StartHost(configure: s => s with { Resources = serverResources });
        var client = StartHost(configure: s => s with { Resources = clientResources });
        SetHandler(server, "/echo/1.0.0", Echo);
        var payload = "hello"u8.ToArray();

        for (var i = 0; i < 2000; i++)
        {
            var stream = await OpenAsync(client, server, "/echo/1.0.0");
            Assert.Equal(payload, await EchoThroughAsync(stream, payload));
            stream.Close();
            await stream.Completion.WaitAsync(Patience);
        }

        Assert.Single(Conns(client));
        // Both sides forgot every stream while the connection stays open.
        await AwaitAssertAsync(async () =>
        {
            var transient = (await serverResources.ViewTransientAsync()).Usage;
            Assert.Equal(0, transient.NumStreamsInbound + transient.NumStreamsOutbound);
            var system = (await serverResources.ViewSystemAsync()).Usage;
            Assert.Equal((0, 0, 1), (system.NumStreamsInbound, system.NumStreamsOutbound, system.NumConnsInbound));
            var clientSystem = (await clientResources.ViewSystemAsync()).Usage;
            Assert.Equal((0, 0, 1), (clientSystem.NumStreamsInbound, clientSystem.NumStreamsOutbound, clientSystem.NumConnsOutbound));
        }, Patience);
        var stats = await Conns(server)[0].Actor!.Ask<Libp2p.Actors.Connections.Conn.StatsAre>(Libp2p.Actors.Connections.Conn.GetStats.Instance, Patience);
        Assert.Equal(0, stats.NumStreams);
        CloseAll(client, server);
    }

    [Fact]
    public async Task A_service_asked_for_a_stream_being_reset_must_be_refused_by_its_end_not_a_timeout()
    {
        var client = StartHost(configure: s => s with { Resources = new ResourceManager(ResourceLimitDefaults.Scaled()) });
        var server = StartHost();
        SetHandler(server, "/echo/1.0.0", Echo);
        var stream = await OpenAsync(client, server, "/echo/1.0.0");

        // The request races the stream's end: it may reach the scope's actor after it stopped, where
        // nothing answers it. The stream's end must answer it at once, not the answers' 10 s sweep.
        // (It may also win the race and be granted; what it must never do is wait for the sweep.)
        stream.Reset();
        var refused = await Record.ExceptionAsync(() => stream.SetServiceAsync("late").WaitAsync(TimeSpan.FromSeconds(5)));

        Assert.True(refused is null or Libp2p.Protocols.Connections.StreamResetException or Libp2p.Actors.Network.ResourceScopeClosedException, refused?.ToString());
        CloseAll(client, server);
    }
}

/// <summary>Reserve, then open: a stream the local limits refuse never reaches the wire.</summary>
public sealed class StreamReservationTests : SwarmTestKit
{
    [Fact]
    public async Task A_locally_refused_stream_must_never_reach_the_remote()
    {
        var limits = ResourceLimitDefaults.Scaled();
        var client = StartHost(configure: s => s with { Resources = new ResourceManager(limits with { System = limits.System with { StreamsOutbound = 0 } }) });
        using var remoteKey = Libp2p.Protocols.Crypto.PrivateKey.Generate(Libp2p.Protocols.Crypto.KeyType.Ed25519);
        var accepted = System.Threading.Channels.Channel.CreateUnbounded<Libp2p.Protocols.Connections.MuxedConnection>();
        var bound = await Libp2p.Protocols.Connections.Upgrader.Listen(Sys, Akka.Streams.ActorMaterializer.Create(Sys), Libp2p.Protocols.Transport.TcpTransport.Instance,
            Libp2p.Protocols.Multiformats.Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"), new Libp2p.Protocols.Connections.UpgradeSettings(remoteKey),
            (c, _) => accepted.Writer.TryWrite(c));
        var remotePeer = Libp2p.Protocols.Peer.PeerId.FromPublicKey(remoteKey.PublicKey);
        await client.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(remotePeer, Libp2p.Actors.Network.DialOptions.Default, [bound.Address]), Patience);
        var remote = await accepted.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        var reply = await client.Swarm.Ask(new SwarmProtocol.OpenStream(remotePeer, ["/echo/1.0.0"], Libp2p.Actors.Network.DialOptions.Default), Patience);

        var failed = Assert.IsType<SwarmProtocol.OpenStreamFailed>(reply);
        Assert.IsType<Libp2p.Actors.Network.ResourceLimitExceededException>(failed.Reason);
        // A ping's answer follows any frame sent before it: had a SYN gone out, the remote would have it now.
        await remote.PingAsync().WaitAsync(Patience);
        Assert.False(remote.InboundStreams.TryRead(out _), "the refused stream reached the remote");
        CloseAll(client);
        await bound.UnbindAsync();
    }
}

/// <summary>What connections leave in the peerstore.</summary>
public sealed class ConnectionAddressTests : SwarmTestKit
{
    [Fact]
    public async Task An_inbound_connections_ephemeral_address_must_not_be_kept_but_a_dialed_one_must()
    {
        var server = StartHost();
        var client = StartHost();
        Dial(client, server);
        await AwaitConditionAsync(() => Task.FromResult(Conns(server).Count == 1), Patience);

        var serverPeerstore = (await server.Swarm.Ask<Libp2p.Actors.Swarm.SwarmProtocol.PeerstoreIs>(Libp2p.Actors.Swarm.SwarmProtocol.GetPeerstore.Instance, Patience)).Peerstore;
        var clientPeerstore = (await client.Swarm.Ask<Libp2p.Actors.Swarm.SwarmProtocol.PeerstoreIs>(Libp2p.Actors.Swarm.SwarmProtocol.GetPeerstore.Instance, Patience)).Peerstore;
        var atServer = await serverPeerstore.Ask<Libp2p.Actors.Peerstore.PeerstoreProtocol.AddressesAre>(new Libp2p.Actors.Peerstore.PeerstoreProtocol.GetAddresses(client.Peer), Patience);
        var atClient = await clientPeerstore.Ask<Libp2p.Actors.Peerstore.PeerstoreProtocol.AddressesAre>(new Libp2p.Actors.Peerstore.PeerstoreProtocol.GetAddresses(server.Peer), Patience);

        Assert.Empty(atServer.Addresses);
        Assert.Equal(server.Addresses, atClient.Addresses);
        CloseAll(client, server);
    }
}
