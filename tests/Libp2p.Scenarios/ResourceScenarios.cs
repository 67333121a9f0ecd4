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
    /// <summary>
    /// Latency percentiles in µs, approvals per second, bytes allocated per approval, and the
    /// process's CPU time per approval in µs: on a machine others load, the rate says how much CPU
    /// this process was given, the CPU time what an approval costs (all threads, the requesters' too).
    /// </summary>
    public readonly record struct Approvals(double P50Micros, double P99Micros, double PerSecond, double BytesPerApproval, double CpuMicrosPerApproval);

    /// <summary>How a requester is answered, and where the scope actors run.</summary>
    public enum Variant
    {
        /// <summary>As shipped: the answer travels in the request; the scope actors on Akka's default dispatcher.</summary>
        Shipped,

        /// <summary>The answer travels in the request; the scope actors on one dedicated thread (<c>scenarios.rcmgr-one-thread</c>).</summary>
        OneThread,

        /// <summary>The facade before: an <c>Ask</c> per request (a temporary actor and a timer); default dispatcher.</summary>
        Ask,
    }

    /// <summary>
    /// Memory reserved and given back through a stream's whole path (the stream, system, peer,
    /// protocol, service), by message through the scope actors, with <paramref name="requesters"/>
    /// reserving at once, each waiting for its approval before the next. The variants take turns,
    /// <paramref name="rounds"/> times, so that a machine loaded by others weighs on each alike;
    /// each variant's samples of all rounds make its figures.
    /// </summary>
    public static async Task<IReadOnlyDictionary<Variant, Approvals>> ReservationsAsync(ActorSystem system, int requesters, int perRequester = 20_000, int rounds = 3)
    {
        var variants = Enum.GetValues<Variant>();
        var runs = variants.ToDictionary(v => v, _ => new List<(long[][] Samples, TimeSpan Elapsed, long Allocated, TimeSpan Cpu)>());
        for (var round = 0; round < rounds; round++)
            foreach (var variant in variants)
                runs[variant].Add(await ReservationRoundAsync(system, variant, requesters, perRequester / rounds));
        return runs.ToDictionary(r => r.Key, r => Summary(r.Value));
    }

    private static async Task<(long[][] Samples, TimeSpan Elapsed, long Allocated, TimeSpan Cpu)> ReservationRoundAsync(ActorSystem system, Variant variant, int requesters, int perRequester)
    {
        var manager = new ResourceManager(new ResourceLimits { System = new ScopeLimit { Memory = 1L << 40 } });
        var actor = manager.Start(system, $"rcmgr-bench-{Guid.NewGuid():N}", variant == Variant.OneThread ? "scenarios.rcmgr-one-thread" : null);
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var streams = await Task.WhenAll(Enumerable.Range(0, requesters).Select(async _ =>
        {
            var stream = await manager.OpenStreamAsync(peer, Direction.Inbound);
            await stream.SetProtocolAsync("/bench/1.0.0");
            await stream.SetServiceAsync("bench");
            return stream;
        }));
        var result = await MeasureAsync(requesters, perRequester, async (r, samples) =>
        {
            var stream = streams[r];
            var request = new ScopeSpanActor.ReserveMemory(1024, ReservationPriority.High);
            for (var i = 0; i < samples.Length; i++)
            {
                var start = Stopwatch.GetTimestamp();
                if (variant == Variant.Ask)
                    await stream.Actor!.Ask<ScopeSpanActor.MemoryReserved>(request, ResourceManager.AnswerTimeout);
                else
                    await stream.ReserveMemoryAsync(1024, ReservationPriority.High);
                samples[i] = Stopwatch.GetTimestamp() - start;
                stream.ReleaseMemory(1024);
            }
        });
        await actor.GracefulStop(TimeSpan.FromSeconds(10));
        return result;
    }

    /// <summary>
    /// A stream's scope opened (approved by system, its peer and transient, by message) and closed,
    /// with <paramref name="requesters"/> opening at once: what every stream pays before its SYN.
    /// </summary>
    public static async Task<Approvals> StreamScopesAsync(ActorSystem system, int requesters, int perRequester = 10_000)
    {
        // Unlimited: a closed stream's scope gives back a moment after Done, and at this rate the
        // scaled transient limit would refuse some of the next ones.
        var manager = new ResourceManager();
        var actor = manager.Start(system, $"rcmgr-bench-{Guid.NewGuid():N}");
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        // The peer's scope stays (a connection holds it), as it does for every stream of a live connection.
        using var connection = await manager.OpenConnectionAsync(Direction.Inbound, true);
        await connection.SetPeerAsync(peer);
        var result = Summary([await MeasureAsync(requesters, perRequester, async (_, samples) =>
        {
            for (var i = 0; i < samples.Length; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var stream = await manager.OpenStreamAsync(peer, Direction.Inbound);
                samples[i] = Stopwatch.GetTimestamp() - start;
                stream.Done();
            }
        })]);
        await actor.GracefulStop(TimeSpan.FromSeconds(10));
        return result;
    }

    private static async Task<(long[][] Samples, TimeSpan Elapsed, long Allocated, TimeSpan Cpu)> MeasureAsync(int requesters, int perRequester, Func<int, long[], Task> run)
    {
        // A warm-up round first: the first messages pay for JIT and actor creation.
        await Task.WhenAll(Enumerable.Range(0, requesters).Select(r => Task.Run(() => run(r, new long[Math.Min(1000, perRequester)]))));
        var samples = Enumerable.Range(0, requesters).Select(_ => new long[perRequester]).ToArray();
        GC.Collect();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, requesters).Select(r => Task.Run(() => run(r, samples[r]))));
        var elapsed = watch.Elapsed;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        process.Refresh();
        return (samples, elapsed, allocated, process.TotalProcessorTime - cpu);
    }

    private static Approvals Summary(IReadOnlyList<(long[][] Samples, TimeSpan Elapsed, long Allocated, TimeSpan Cpu)> runs)
    {
        var all = runs.SelectMany(r => r.Samples).SelectMany(s => s).Order().ToArray();
        double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        return new Approvals(Micros(all[all.Length / 2]), Micros(all[all.Length * 99 / 100]), all.Length / runs.Sum(r => r.Elapsed.TotalSeconds),
            (double)runs.Sum(r => r.Allocated) / all.Length, runs.Sum(r => r.Cpu.TotalMicroseconds) / all.Length);
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
            // A stream is done once both halves are: ours is closed, and the remote's ends when we read its end.
            await stream.Stream.CopyToAsync(Stream.Null);
            await stream.Completion.ContinueWith(_ => { }, TaskScheduler.Default);
        }));
        var elapsed = watch.Elapsed;
        await client.CloseAsync();
        await server.CloseAsync();
        return (double)streams * perStream / (1 << 20) / elapsed.TotalSeconds;
    }
}
