using System.Diagnostics;
using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Actors.Resources;
using Libp2p.Host;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Transport;

namespace Libp2p.Scenarios;

/// <summary>What connections that come and go leave behind in a listening node: managed heap after a forced GC.</summary>
internal sealed class ChurnScenarios(ActorSystem system, IMaterializer materializer)
{
    /// <summary>
    /// Two turns of the scheduler's timer wheel: a cancelled timer (a closed connection's keep-alive)
    /// is let go only when the wheel comes round to it, which is not a leak.
    /// </summary>
    public static Task WheelTurnedAsync(ActorSystem system)
    {
        var config = system.Settings.Config;
        var turn = config.GetTimeSpan("akka.scheduler.tick-duration") * config.GetInt("akka.scheduler.ticks-per-wheel");
        var turned = new TaskCompletionSource();
        system.Scheduler.Advanced.ScheduleOnce(turn * 2, () => turned.TrySetResult());
        return turned.Task;
    }

    /// <summary>The managed heap after a full, compacting collection.</summary>
    public static long Heap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>
    /// <paramref name="count"/> connections to a host, one after another, each echoing a byte on one
    /// stream (or refused by the host's resource limits), then closed; returns the heap before and
    /// after, once the host holds no connection.
    /// </summary>
    public async Task<(long Before, long After)> ChurnAsync(int count, bool refused)
    {
        var limits = refused
            ? ResourceLimitDefaults.Scaled() with { System = ResourceLimitDefaults.Scaled().System with { ConnsInbound = 0 } }
            : ResourceLimitDefaults.Scaled();
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var settings = new HostSettings(key) { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
        settings = settings with { Swarm = settings.Swarm with { Resources = new ResourceManager(limits) } };
        var host = await Libp2pHost.StartAsync(system, settings, refused ? "churn-refusing" : "churn");
        var address = (await host.AddressesAsync())[0].Decapsulate("p2p");
        using var dialerKey = PrivateKey.Generate(KeyType.Ed25519);

        await ConnectManyAsync(host, address, dialerKey, 50, refused);
        await WheelTurnedAsync(system);
        var before = Heap();
        await ConnectManyAsync(host, address, dialerKey, count, refused);
        await WheelTurnedAsync(system);
        var after = Heap();
        await host.StopAsync();
        return (before, after);
    }

    private async Task ConnectManyAsync(Libp2pHost host, Multiaddr address, PrivateKey dialerKey, int count, bool refused)
    {
        for (var i = 0; i < count; i++)
        {
            try
            {
                await EchoOnNewConnectionAsync(system, materializer, address, dialerKey, host.PeerId);
            }
            catch (Exception e) when (refused && e is ConnectionClosedException or StreamResetException or IOException)
            {
                // The host closes a connection it has no budget for: what it keeps of it is measured.
            }
        }
        // The host lets go of each connection once it noticed the close.
        var watch = Stopwatch.StartNew();
        while ((await host.Network.ConnsAsync()).Count > 0 && watch.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(50);
    }

    /// <summary>A new connection that echoes one byte on one stream, then closes.</summary>
    public static async Task EchoOnNewConnectionAsync(ActorSystem system, IMaterializer materializer, Multiaddr address, PrivateKey key, Libp2p.Protocols.Peer.PeerId peer)
    {
        var dial = Upgrader.Dial(system, materializer, SocketTransport.Instance, address, new UpgradeSettings(key), peer);
        try
        {
            await dial.Connection.Upgraded.WaitAsync(TimeSpan.FromSeconds(30));
            var stream = await dial.Connection.OpenStreamAsync();
            await using var io = stream.AsStream();
            io.ReadTimeout = io.WriteTimeout = 30_000;
            await MultistreamSelect.SelectOneOfAsync(io, ["/echo/1.0.0"]);
            await io.WriteAsync(new byte[] { 1 });
            io.CloseWrite();
            await io.CopyToAsync(Stream.Null);
            dial.Connection.Close();
            await dial.Connection.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            dial.Connection.Abort(new ConnectionClosedException("the churning dialer is done"));
        }
    }
}
