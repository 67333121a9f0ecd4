using Libp2p.Actors.Network;
using Libp2p.Protocols.Peer;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Tests.Swarm;

public sealed class ManyHostsTests : SwarmTestKit
{
    [Fact]
    public async Task Ten_hosts_must_all_talk_and_see_half_of_them_vanish()
    {
        var hosts = Enumerable.Range(0, 10).Select(_ => StartHost()).ToArray();
        foreach (var host in hosts)
            SetHandler(host, "/echo/1.0.0", Echo);

        // Every pair opens a stream each way and echoes its own data.
        var echoes = new List<Task>();
        for (var i = 0; i < hosts.Length; i++)
        {
            for (var j = 0; j < hosts.Length; j++)
            {
                if (i == j)
                    continue;
                var (from, to) = (hosts[i], hosts[j]);
                echoes.Add(Task.Run(async () =>
                {
                    var data = RandomBytes(10_000 + 100 * Random.Shared.Next(100));
                    var stream = await OpenAsync(from, to, "/echo/1.0.0");
                    Assert.Equal(data, await EchoThroughAsync(stream, data));
                }));
            }
        }
        await Task.WhenAll(echoes).WaitAsync(TimeSpan.FromMinutes(2));

        var stopped = hosts.Take(5).ToArray();
        var remaining = hosts.Skip(5).ToArray();
        var stoppedPeers = stopped.Select(h => h.Peer).ToHashSet();
        var remainingPeers = remaining.Select(h => h.Peer).ToHashSet();
        var lost = new HashSet<(PeerId, ConnectionId)>();
        foreach (var host in remaining)
        {
            foreach (var connection in Conns(host).Where(c => stoppedPeers.Contains(c.RemotePeer)))
                lost.Add((host.Peer, connection.Id));
        }
        Assert.NotEmpty(lost);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.Disconnected));

        foreach (var host in stopped)
            Sys.Stop(host.Swarm); // abruptly: no goodbye, the sockets just go

        while (lost.Count > 0)
        {
            var gone = events.ExpectMsg<SwarmProtocol.Disconnected>(Patience).Connection;
            if (remainingPeers.Contains(gone.LocalPeer) && stoppedPeers.Contains(gone.RemotePeer))
                Assert.True(lost.Remove((gone.LocalPeer, gone.Id)),
                    $"unexpected or repeated Disconnected for {gone} (remote {(stoppedPeers.Contains(gone.RemotePeer) ? "stopped" : "remaining")})");
        }
        foreach (var host in remaining)
        {
            foreach (var peer in stoppedPeers)
                Assert.Equal(Connectedness.CanConnect, ConnectednessOf(host, peer));
            Assert.Equal(4, Conns(host).Select(c => c.RemotePeer).Distinct().Count());
        }
        CloseAll(remaining);
    }

    [Fact]
    public async Task The_async_facade_and_notify_bundle_must_mirror_the_messages()
    {
        var a = StartHost(listen: "");
        var b = StartHost(listen: "");
        var clientA = new NetworkClient(a.Swarm, a.Peer);
        var clientB = new NetworkClient(b.Swarm, b.Peer);
        var connected = new TaskCompletionSource<ConnectionInfo>();
        var disconnected = new TaskCompletionSource<ConnectionInfo>();
        var listening = new TaskCompletionSource<Protocols.Multiformats.Multiaddr>();
        using var notify = new NotifyBundle(Sys, b.Peer)
        {
            Connected = c => connected.TrySetResult(c),
            Disconnected = c => disconnected.TrySetResult(c),
            Listen = l => listening.TrySetResult(l),
        };

        var bound = await clientA.ListenAsync([Protocols.Multiformats.Multiaddr.Parse("/memory/0")]);
        await clientB.ListenAsync([Protocols.Multiformats.Multiaddr.Parse("/memory/0")]);
        await clientA.SetStreamHandlerAsync("/echo/1.0.0", async s => await s.Stream.CopyToAsync(s.Stream));
        var connection = await clientB.DialPeerAsync(a.Peer, addresses: bound);
        var stream = await clientB.NewStreamAsync(a.Peer, ["/echo/1.0.0"]);

        Assert.Equal("facade"u8.ToArray(), await EchoThroughAsync(stream, "facade"u8.ToArray()));
        Assert.Equal(connection.Id, (await connected.Task.WaitAsync(Patience)).Id);
        Assert.StartsWith("/memory/", (await listening.Task.WaitAsync(Patience)).ToString(), StringComparison.Ordinal);
        Assert.Equal(Connectedness.Connected, await clientB.ConnectednessAsync(a.Peer));
        Assert.Equal([a.Peer], await clientB.PeersAsync());
        await Assert.ThrowsAsync<NoConnectionException>(() => clientB.DialPeerAsync(PeerId.FromPublicKey(Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519).PublicKey), DialOptions.Default.WithNoDial("facade")));

        await clientB.ClosePeerAsync(a.Peer);
        Assert.Equal(connection.Id, (await disconnected.Task.WaitAsync(Patience)).Id);
        await clientA.CloseAsync();
        await clientB.CloseAsync();
        Assert.Empty(await clientB.ConnsAsync());
    }
}
