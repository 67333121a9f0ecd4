using Libp2p.Actors.Resources;
using System.Security.Cryptography;
using Akka.Actor;
using Libp2p.Actors.Connections;
using Libp2p.Host.Services;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Swarm;

namespace Libp2p.Host.Tests.Services;

public sealed class HostServicesTests : HostTestKit
{
    [Fact]
    public async Task Two_hosts_identify_each_other_and_feed_their_peerstores()
    {
        var a = await StartAsync();
        var b = await StartAsync(s => s with { AgentVersion = "b-agent/2.0" });
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(IdentifyService.PeerIdentified));

        await a.ConnectAsync(await AddressOfAsync(b));
        var fromA = await a.IdentifyAsync(b.PeerId).WaitAsync(Patience);
        var fromB = await b.IdentifyAsync(a.PeerId).WaitAsync(Patience);

        Assert.Equal("b-agent/2.0", fromA.AgentVersion);
        Assert.Equal("ipfs/0.1.0", fromA.ProtocolVersion);
        Assert.Equal(b.Settings.Identity.PublicKey.ToProtobuf(), fromA.PublicKey!.ToProtobuf());
        Assert.Equal([EchoService.ProtocolId, IdentifyService.ProtocolId, IdentifyService.PushProtocolId, PingService.ProtocolId, Libp2p.Protocols.AutoNat.AutoNatV2.DialBackProtocolId, Libp2p.Protocols.Dcutr.HolePunchMessages.ProtocolId, PerfService.ProtocolId], fromA.Protocols);
        Assert.True(fromA.Certified);
        Assert.Equal(await b.Network.ListenAddressesAsync(), fromA.ListenAddresses);
        Assert.Equal(a.PeerId, fromB.Peer);
        Assert.NotNull(fromB.ObservedAddress);

        // Each side publishes its identification once, as connections open.
        var seen = new[] { events.ExpectMsg<IdentifyService.PeerIdentified>(Patience), events.ExpectMsg<IdentifyService.PeerIdentified>(Patience) };
        Assert.Contains(seen, e => e.LocalPeer == a.PeerId && e.Result.Peer == b.PeerId);
        Assert.Contains(seen, e => e.LocalPeer == b.PeerId && e.Result.Peer == a.PeerId);

        var peerstore = (await a.Actor.Ask<SwarmProtocol.PeerstoreIs>(SwarmProtocol.GetPeerstore.Instance, Patience)).Peerstore;
        var protocols = await peerstore.Ask<PeerstoreProtocol.ProtocolsAre>(new PeerstoreProtocol.GetProtocols(b.PeerId), Patience);
        Assert.Contains(PingService.ProtocolId, protocols.Protocols);
        var agent = await peerstore.Ask<PeerstoreProtocol.MetadataIs>(new PeerstoreProtocol.GetMetadata(b.PeerId, IdentifyService.AgentVersionKey), Patience);
        Assert.Equal("b-agent/2.0", agent.Value);
        var observed = await peerstore.Ask<PeerstoreProtocol.MetadataIs>(new PeerstoreProtocol.GetMetadata(b.PeerId, IdentifyService.ObservedAddressKey), Patience);
        Assert.Equal(fromA.ObservedAddress, observed.Value);
        var record = await peerstore.Ask<PeerstoreProtocol.MetadataIs>(new PeerstoreProtocol.GetMetadata(b.PeerId, IdentifyService.SignedPeerRecordKey), Patience);
        var (signed, signer) = Libp2p.Protocols.Records.PeerRecord.FromEnvelope((byte[])record.Value!);
        Assert.Equal(b.PeerId, signed.Peer);
        Assert.Equal(b.Settings.Identity.PublicKey.ToProtobuf(), signer.ToProtobuf());
        var addresses = await peerstore.Ask<PeerstoreProtocol.AddressesAre>(new PeerstoreProtocol.GetAddresses(b.PeerId), Patience);
        Assert.Contains((await b.Network.ListenAddressesAsync())[0], addresses.Addresses);
    }

    [Fact]
    public async Task A_new_protocol_is_pushed_to_connected_peers()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        await a.ConnectAsync(await AddressOfAsync(b));
        await a.IdentifyAsync(b.PeerId).WaitAsync(Patience);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(IdentifyService.PeerIdentified));

        await b.Network.SetStreamHandlerAsync("/chat/1.0.0", _ => Task.CompletedTask);

        var pushed = events.FishForMessage<IdentifyService.PeerIdentified>(e => e.Push && e.LocalPeer == a.PeerId, Patience);
        Assert.Contains("/chat/1.0.0", pushed.Result.Protocols);
        Assert.Contains("/chat/1.0.0", (await a.IdentifyAsync(b.PeerId)).Protocols);
    }

    [Fact]
    public async Task Ping_measures_round_trips_on_one_stream()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        await a.ConnectAsync(await AddressOfAsync(b));
        var times = await a.PingAsync(b.PeerId, 5).WaitAsync(Patience);
        Assert.Equal(5, times.Count);
        Assert.All(times, t => Assert.True(t > TimeSpan.Zero && t < Patience));
    }

    [Fact]
    public async Task A_ping_stream_must_be_charged_to_the_ping_service_until_it_ends()
    {
        var resources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var a = await StartAsync();
        var b = await StartAsync(s => s with { Swarm = s.Swarm with { Resources = resources } });
        await a.ConnectAsync(await AddressOfAsync(b));

        var stream = await a.Network.NewStreamAsync(b.PeerId, [PingService.ProtocolId]).WaitAsync(Patience);

        await AwaitAssertAsync(async () => Assert.Equal(1, (await resources.ViewServiceAsync(ServiceNames.Ping)).Usage.NumStreamsInbound), Patience);
        stream.Close();
        await AwaitAssertAsync(async () => Assert.Equal(ScopeStat.Zero, (await resources.ViewServiceAsync(ServiceNames.Ping)).Usage), Patience);
    }

    [Fact]
    public async Task A_ping_must_be_reset_when_the_peers_ping_service_is_full()
    {
        var limits = ResourceLimitDefaults.Scaled() with { Services = new Dictionary<string, ScopeLimit> { [ServiceNames.Ping] = new() { StreamsInbound = 0 } } };
        var a = await StartAsync();
        var b = await StartAsync(s => s with { Swarm = s.Swarm with { Resources = new ResourceManager(limits) } });
        await a.ConnectAsync(await AddressOfAsync(b));

        // b's handler never runs: the stream is reset as soon as the service refuses it.
        var refused = await Assert.ThrowsAsync<Libp2p.Protocols.Connections.StreamResetException>(() => a.PingAsync(b.PeerId, 1).WaitAsync(Patience));

        Assert.Contains("reset by the remote", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Echo_returns_a_megabyte_unchanged()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        await a.ConnectAsync(await AddressOfAsync(b));
        var payload = RandomNumberGenerator.GetBytes(1024 * 1024);
        var elapsed = await a.EchoAsync(b.PeerId, payload).WaitAsync(Patience);
        Assert.True(elapsed > TimeSpan.Zero);
    }

    [Fact]
    public async Task Perf_moves_the_bytes_asked_for_each_way()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        await a.ConnectAsync(await AddressOfAsync(b));
        var reports = new List<PerfProgress>();
        var result = await a.PerfAsync(b.PeerId, 8 << 20, 16 << 20, new SynchronousProgress(reports)).WaitAsync(Patience);
        Assert.Equal(8 << 20, result.Uploaded);
        Assert.Equal(16 << 20, result.Downloaded);
        Assert.True(result.UploadBitsPerSecond > 0 && result.DownloadBitsPerSecond > 0);
        Assert.NotEmpty(reports);
        Assert.True(reports[^1].Downloaded > 0);
    }

    [Fact]
    public async Task A_ping_that_comes_back_changed_is_an_error()
    {
        var a = await StartAsync(s => s with { Ping = false });
        var b = await StartAsync();
        // A broken ping server: answers each 32 bytes with zeros.
        var served = new TaskCompletionSource<StreamHandle>();
        await a.Network.SetStreamHandlerAsync(PingService.ProtocolId, async stream =>
        {
            served.TrySetResult(stream);
            var buffer = new byte[PingService.PayloadSize];
            while (await stream.Stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false) == buffer.Length)
                await stream.Stream.WriteAsync(new byte[PingService.PayloadSize]);
        });
        await b.ConnectAsync(await AddressOfAsync(a));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => b.PingAsync(a.PeerId, 1).WaitAsync(Patience));
        Assert.Equal("ping: the peer answered with other bytes than it was sent", error.Message);
        // The failed client resets its stream: the server sees it at once, nothing waits for a timeout.
        var server = await served.Task.WaitAsync(Patience);
        var reset = await Assert.ThrowsAsync<Protocols.Connections.StreamResetException>(() => server.Completion.WaitAsync(Patience));
        Assert.EndsWith(" was reset: reset by the remote", reset.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_closes_every_connection_and_leaves_no_resource_in_use()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        var disconnected = CreateTestProbe();
        Sys.EventStream.Subscribe(disconnected.Ref, typeof(SwarmProtocol.Disconnected));
        await a.ConnectAsync(await AddressOfAsync(b));
        await a.PingAsync(b.PeerId, 1);

        await b.StopAsync().WaitAsync(Patience);

        Assert.True(b.Stopped.IsCompleted);
        disconnected.FishForMessage<SwarmProtocol.Disconnected>(d => d.Connection.LocalPeer == a.PeerId, Patience);
        await AwaitAssertAsync(async () =>
            Assert.All(await a.ResourceSnapshotAsync(), s => Assert.Equal(0, s.Usage.NumConnsInbound + s.Usage.NumConnsOutbound + s.Usage.NumStreamsInbound + s.Usage.NumStreamsOutbound)), Patience);
    }

    [Fact]
    public async Task The_async_api_talks_to_the_swarm_without_the_root_actor_hop()
    {
        var host = await StartAsync();

        Assert.Equal(host.Actor.Path / "swarm", host.Network.Swarm.Path);
        var swarm = await host.Actor.Ask<HostActor.SwarmIs>(HostActor.GetSwarm.Instance, Patience);
        Assert.Equal(swarm.Swarm, host.Network.Swarm);
        Assert.NotEmpty(await host.Network.ListenAddressesAsync());
    }

    [Fact]
    public async Task A_host_that_cannot_bind_is_stopped_and_its_name_can_be_used_again()
    {
        var a = await StartAsync();
        var taken = (await a.Network.ListenAddressesAsync())[0];
        var settings = Settings(s => s with { ListenAddresses = [taken] });
        var bind = await Assert.ThrowsAsync<Protocols.Transport.TransportException>(() => Libp2pHost.StartAsync(Sys, settings, "retry").WaitAsync(Patience));
        var socket = Assert.IsType<System.Net.Sockets.SocketException>(bind.InnerException);
        Assert.Equal(System.Net.Sockets.SocketError.AddressAlreadyInUse, socket.SocketErrorCode);
        Assert.Equal($"tcp: listen on {taken} failed: address already in use", bind.Message);
        var again = await Libp2pHost.StartAsync(Sys, Settings(), "retry").WaitAsync(Patience);
        Assert.NotEmpty(await again.Network.ListenAddressesAsync());
    }

    [Fact]
    public void Our_peer_record_is_sealed_once_per_address_set()
    {
        using var key = Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519);
        var cache = new SignedRecordCache(key);
        var one = Protocols.Multiformats.Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001");
        var two = Protocols.Multiformats.Multiaddr.Parse("/ip4/127.0.0.1/tcp/4002");
        var first = cache.For([one]);
        Assert.Same(first, cache.For([one]));
        var second = cache.For([one, two]);
        var (older, _) = Protocols.Records.PeerRecord.FromEnvelope(first);
        var (newer, _) = Protocols.Records.PeerRecord.FromEnvelope(second);
        Assert.True(newer.Sequence > older.Sequence);
        Assert.Equal([one, two], newer.Addresses);
    }

    private sealed class SynchronousProgress(List<PerfProgress> reports) : IProgress<PerfProgress>
    {
        public void Report(PerfProgress value)
        {
            lock (reports)
                reports.Add(value);
        }
    }
}
