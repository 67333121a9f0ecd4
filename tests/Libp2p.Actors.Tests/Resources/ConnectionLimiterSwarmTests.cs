using System.Net;
using System.Net.Sockets;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Tests.Swarm;

namespace Libp2p.Actors.Tests.Resources;

public sealed class ConnectionLimiterSwarmTests : SwarmTestKit
{
    /// <summary>Plain TCP connections from <paramref name="source"/> that never say a word, as a flooding host's.</summary>
    private static async Task<List<Socket>> IdleConnectionsAsync(string source, IPEndPoint server, int count)
    {
        var sockets = new List<Socket>();
        for (var i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
            await socket.ConnectAsync(server).WaitAsync(Patience);
            sockets.Add(socket);
        }
        return sockets;
    }

    [Fact]
    public async Task One_host_taking_its_subnet_limit_must_not_lock_out_the_others()
    {
        // Transient room for 10 inbound connections: without the limiter, the flooding host's 12
        // idle ones would take it all. Loopback is limited like any address here (no networks).
        var resources = new ResourceManager(new ResourceLimits
        {
            Subnets = SubnetLimits.Default with { Networks = [] },
            Transient = new ScopeLimit { ConnsInbound = 10 },
        });
        // Idle connections must stay counted while the test runs, not be cut by the upgrade deadline.
        var server = StartHost(configure: s => s with { Resources = resources, Connection = s.Connection with { UpgradeTimeout = TimeSpan.FromMinutes(5) } });
        SetHandler(server, "/echo/1.0.0", Echo);
        Assert.True(server.Addresses[0].TryGetIPEndPoint(out var endpoint));

        var flood = await IdleConnectionsAsync("127.0.0.2", endpoint, 12);
        var neighbour = await IdleConnectionsAsync("127.0.0.3", endpoint, 1);
        await AwaitAssertAsync(async () => Assert.Equal(4, (await resources.ViewSubnetsAsync()).Refused), Patience);
        await AwaitAssertAsync(async () => Assert.Equal(9, (await resources.ViewTransientAsync()).Usage.NumConnsInbound), Patience);

        // The four refused are cut before any handshake: the flooding host sees them end.
        var reads = flood.Select(s => s.ReceiveAsync(new byte[1], SocketFlags.None)).ToList();
        for (var ended = 0; ended < 4; ended++)
            reads.Remove(await Task.WhenAny(reads).WaitAsync(Patience));
        Assert.All(reads, r => Assert.False(r.IsCompleted));
        var busiest = (await resources.ViewSubnetsAsync(2)).Busiest;
        Assert.Equal(new SubnetUsage("subnet:/ip4/127.0.0.2/ipcidr/32", 8, 0, 8, 4), busiest[0]);
        Assert.Equal(new SubnetUsage("subnet:/ip4/127.0.0.3/ipcidr/32", 1, 0, 8, 0), busiest[1]);

        // A libp2p host at 127.0.0.1 still connects, and talks.
        var client = StartHost();
        var stream = await OpenAsync(client, server, "/echo/1.0.0");
        Assert.Equal("still here"u8.ToArray(), await EchoThroughAsync(stream, "still here"u8.ToArray()));
        Assert.Contains(await resources.SnapshotAsync(), s => s.Scope == "subnet:/ip4/127.0.0.1/ipcidr/32" && s.Usage.NumConnsInbound == 1);

        // Whatever ends them, the connections give their places back.
        foreach (var socket in flood.Concat(neighbour))
            socket.Dispose();
        CloseAll(client, server);
        await AwaitAssertAsync(async () =>
        {
            Assert.Equal(0, (await resources.ViewSubnetsAsync()).Tracked);
            Assert.All(await resources.SnapshotAsync(), s => Assert.Equal(ScopeStat.Zero, s.Usage));
        }, Patience);
    }
}
