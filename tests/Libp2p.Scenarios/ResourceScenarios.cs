using System.Diagnostics;
using Akka.Actor;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Scenarios;

/// <summary>The resource manager's cost: one reservation's latency, and end-to-end streams with it on and off.</summary>
internal static class ResourceScenarios
{
    /// <summary>p50 and p99 of one reserve-and-release through a stream's whole DAG, with <paramref name="threads"/> reservers.</summary>
    public static (double P50Micros, double P99Micros, double PerSecond) Latency(int threads, int perThread = 200_000)
    {
        var manager = new ResourceManager(new ResourceLimits { System = new ScopeLimit { Memory = 1L << 40 } });
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var samples = new long[threads][];
        var watch = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            using var stream = manager.OpenStream(peer, Direction.Inbound);
            stream.SetProtocol("/bench/1.0.0");
            stream.SetService("bench");
            var mine = samples[t] = new long[perThread];
            for (var i = 0; i < perThread; i++)
            {
                var start = Stopwatch.GetTimestamp();
                stream.ReserveMemory(1024, ReservationPriority.High);
                mine[i] = Stopwatch.GetTimestamp() - start;
                stream.ReleaseMemory(1024);
            }
        });
        var elapsed = watch.Elapsed;
        var all = samples.SelectMany(s => s).Order().ToArray();
        double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        return (Micros(all[all.Length / 2]), Micros(all[all.Length * 99 / 100]), threads * perThread * 2 / elapsed.TotalSeconds);
    }

    /// <summary>MiB/s of 100 concurrent streams between two Swarms, each stream echoing <paramref name="perStream"/> bytes.</summary>
    public static async Task<double> SwarmStreamsAsync(ActorSystem system, bool withLimits, int streams = 100, int perStream = 1 << 20)
    {
        using var serverKey = PrivateKey.Generate(KeyType.Ed25519);
        using var clientKey = PrivateKey.Generate(KeyType.Ed25519);
        ResourceManager Manager() => withLimits ? new ResourceManager(ResourceLimitDefaults.Scaled()) : ResourceManager.Null();
        var server = new NetworkClient(system.ActorOf(SwarmActor.Props(new SwarmSettings(serverKey) { Resources = Manager() })), PeerId.FromPublicKey(serverKey.PublicKey));
        var client = new NetworkClient(system.ActorOf(SwarmActor.Props(new SwarmSettings(clientKey) { Resources = Manager() })), PeerId.FromPublicKey(clientKey.PublicKey));
        var bound = await server.ListenAsync([Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")]);
        await server.SetStreamHandlerAsync("/sink/1.0.0", async s => await s.Stream.CopyToAsync(Stream.Null));
        await client.DialPeerAsync(server.LocalPeer, addresses: bound);
        var block = new byte[64 * 1024];
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, streams).Select(async _ =>
        {
            var stream = await client.NewStreamAsync(server.LocalPeer, ["/sink/1.0.0"]);
            for (var sent = 0; sent < perStream; sent += block.Length)
                await stream.Stream.WriteAsync(block);
            stream.CloseWrite();
            await stream.Completion.ContinueWith(_ => { }, TaskScheduler.Default);
        }));
        var elapsed = watch.Elapsed;
        await client.CloseAsync();
        await server.CloseAsync();
        return (double)streams * perStream / (1 << 20) / elapsed.TotalSeconds;
    }
}
