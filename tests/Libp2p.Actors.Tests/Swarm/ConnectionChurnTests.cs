using Akka.Actor;
using Akka.Streams;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multistream;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>Alone in the test run, so that the managed heap it measures is its own.</summary>
[CollectionDefinition(nameof(HeapMeasuring), DisableParallelization = true)]
public sealed class HeapMeasuring;

/// <summary>Connections that come and go, served or refused, leave nothing behind in the listener.</summary>
[Collection(nameof(HeapMeasuring))]
public sealed class ConnectionChurnTests : SwarmTestKit
{
    private const int Churned = 300;
    private const long Tolerance = 3 * 1024 * 1024; // 10 KiB a connection; a leaked one held ~300 KiB
    private const int WheelTicks = 64;

    // A smaller scheduler wheel: a cancelled timer (a connection's keep-alive) is let go only when the
    // wheel comes round to it, so two turns after the churn only a real leak can hold a connection.
    public ConnectionChurnTests() : base($"akka.scheduler.ticks-per-wheel = {WheelTicks}") { }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Connections_that_open_and_close_must_leave_the_heap_and_every_scope_where_they_started(bool refused)
    {
        var limits = ResourceLimitDefaults.Scaled();
        var resources = new ResourceManager(refused ? limits with { System = limits.System with { ConnsInbound = 0 } } : limits);
        var server = StartHost(configure: s => s with { Resources = resources });
        SetHandler(server, "/echo/1.0.0", Echo);
        var transport = new SwarmSettings(server.Key).Transports[0];
        var materializer = Sys.Materializer();
        using var key = PrivateKey.Generate(KeyType.Ed25519);

        async Task ChurnAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var dial = Upgrader.Dial(Sys, materializer, transport, server.Addresses[0], new UpgradeSettings(key), server.Peer);
                try
                {
                    await dial.Connection.Upgraded.WaitAsync(Patience);
                    var stream = await dial.Connection.OpenStreamAsync().WaitAsync(Patience);
                    await using var io = stream.AsStream();
                    await MultistreamSelect.SelectOneOfAsync(io, ["/echo/1.0.0"]).WaitAsync(Patience);
                    await io.WriteAsync(new byte[] { 1 });
                    io.CloseWrite();
                    await io.CopyToAsync(Stream.Null).WaitAsync(Patience);
                    Assert.False(refused, "a connection over the limit was served");
                    dial.Connection.Close();
                    await dial.Connection.Completion.WaitAsync(Patience);
                }
                catch (Exception e) when (refused && e is ConnectionClosedException or StreamResetException or IOException)
                {
                    // Refused by the listener's limits, as asked: what the listener keeps of it is what counts.
                }
                finally
                {
                    dial.Connection.Abort(new ConnectionClosedException("done"));
                }
            }
            await AwaitConditionAsync(() => Task.FromResult(Conns(server).Count == 0), Patience);
        }

        await ChurnAsync(30);
        await WheelTurnedAsync();
        var before = Heap();
        await ChurnAsync(Churned);
        await WheelTurnedAsync();
        var after = Heap();

        Assert.True(after - before < Tolerance, $"{Churned} connections left {(after - before) / 1024} KiB behind");
        await AwaitAssertAsync(async () => Assert.All(await resources.SnapshotAsync(), s => Assert.Equal(ScopeStat.Zero, s.Usage)), Patience);
        CloseAll(server);
    }

    [Fact]
    public async Task Peers_that_bring_a_fresh_key_to_every_connection_must_leave_the_peerstore_where_it_started()
    {
        // An attacker can make a new identity per connection for free; each one identified wrote a
        // key, protocols and metadata that stayed for good.
        var server = StartHost(configure: s => s with { PeerstoreGracePeriod = TimeSpan.FromMilliseconds(200) });
        var peerstore = (await server.Swarm.Ask<SwarmProtocol.PeerstoreIs>(SwarmProtocol.GetPeerstore.Instance, Patience)).Peerstore;
        var transport = new SwarmSettings(server.Key).Transports[0];
        var materializer = Sys.Materializer();
        async Task<int> StoredAsync() => (await peerstore.Ask<PeerstoreProtocol.PeerCountIs>(PeerstoreProtocol.GetPeerCount.Instance, Patience)).Peers;
        var before = await StoredAsync();
        var most = before;

        for (var i = 0; i < 20; i++)
        {
            using var key = PrivateKey.Generate(KeyType.Ed25519);
            var dial = Upgrader.Dial(Sys, materializer, transport, server.Addresses[0], new UpgradeSettings(key), server.Peer);
            await dial.Connection.Upgraded.WaitAsync(Patience);
            await AwaitConditionAsync(() => Task.FromResult(Conns(server).Count == 1), Patience);
            most = Math.Max(most, await StoredAsync());
            dial.Connection.Close();
            await dial.Connection.Completion.WaitAsync(Patience);
        }
        await AwaitConditionAsync(() => Task.FromResult(Conns(server).Count == 0), Patience);
        Assert.True(most > before, "the peers were never recorded, so this test shows nothing");

        await AwaitAssertAsync(async () => Assert.Equal(before, await StoredAsync()), Patience);
        CloseAll(server);
    }

    private Task WheelTurnedAsync()
    {
        var turned = new TaskCompletionSource();
        Sys.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(2 * WheelTicks * 10), () => turned.TrySetResult());
        return turned.Task.WaitAsync(Patience);
    }

    private static long Heap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
