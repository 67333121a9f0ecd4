using System.Diagnostics;
using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Actors.Resources;
using Libp2p.Host;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Scenarios;

/// <summary>
/// A node's long life, compressed: connections come and go, streams open and finish on a
/// long-lived connection, and a hostile peer floods half-negotiated streams and drops its
/// connections mid-upgrade. Every sample reads the managed heap (after a forced GC), the process's
/// memory and threads, the node's actors and its system scope; the run fails if they trend upward.
/// </summary>
internal sealed class SoakScenario(ActorSystem system, IMaterializer materializer)
{
    public sealed record Sample(TimeSpan At, long Heap, long WorkingSet, int Threads, int Actors, ScopeStat System, long Connections, long Echoes, long HostileStreams);

    /// <param name="loads">Which loads run: <c>churn</c>, <c>echo</c>, <c>hostile</c> (all by default).</param>
    public async Task<IReadOnlyList<Sample>> RunAsync(TimeSpan duration, TimeSpan every, Action<Sample> report, IReadOnlySet<string>? loads = null)
    {
        bool Runs(string load) => loads is null || loads.Contains(load);
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var settings = new HostSettings(key) { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
        var node = await Libp2pHost.StartAsync(system, settings, "soak");
        var address = (await node.AddressesAsync())[0];
        var client = await Libp2pHost.StartAsync(system, new HostSettings(PrivateKey.Generate(KeyType.Ed25519)) { ListenAddresses = [] }, "soak-client");
        await client.ConnectAsync(address);
        var transport = address.Decapsulate("p2p");
        var counters = new long[3];
        using var stop = new CancellationTokenSource(duration);
        var load = new[]
        {
            Runs("churn") ? Task.Run(() => ChurnAsync(node, transport, counters, stop.Token)) : Task.CompletedTask,
            Runs("echo") ? Task.Run(() => EchoOnOneConnectionAsync(client, node, counters, stop.Token)) : Task.CompletedTask,
            Runs("hostile") ? Task.Run(() => HostileAsync(node, transport, counters, stop.Token)) : Task.CompletedTask,
        };
        var samples = new List<Sample>();
        var watch = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var sample = await SampleAsync(node, watch.Elapsed, counters);
            samples.Add(sample);
            report(sample);
        }
        await Task.WhenAll(load);
        await client.StopAsync();
        // What is left once the load stopped: the node should be back where it started.
        var settled = await SettleAsync(node, watch, counters);
        samples.Add(settled);
        report(settled);
        await node.StopAsync();
        return samples;
    }

    /// <summary>
    /// Upward trend: the heap of the last third of the samples against the first third (the first
    /// sample is warm-up and left out). Returns the reason, or null when flat.
    /// </summary>
    public static string? Trend(IReadOnlyList<Sample> samples)
    {
        var steady = samples.Skip(1).Take(samples.Count - 2).ToList();
        if (steady.Count < 3)
            return null;
        var third = Math.Max(1, steady.Count / 3);
        double Mean(IEnumerable<Sample> s, Func<Sample, double> f) => s.Select(f).Average();
        var first = steady.Take(third).ToList();
        var last = steady.Skip(steady.Count - third).ToList();
        var reasons = new List<string>();
        void Check(string what, Func<Sample, double> f, double slack)
        {
            var (a, b) = (Mean(first, f), Mean(last, f));
            if (b > a * 1.10 + slack)
                reasons.Add($"{what} grew from {a:F1} to {b:F1}");
        }
        Check("managed heap MiB", s => s.Heap / 1048576.0, 5);
        Check("working set MiB", s => s.WorkingSet / 1048576.0, 32);
        Check("threads", s => s.Threads, 4);
        Check("actors", s => s.Actors, 20);
        var end = samples[^1];
        if (end.System.NumConnsInbound + end.System.NumConnsOutbound > 0 || end.System.NumStreamsInbound + end.System.NumStreamsOutbound > 0 || end.System.Memory > 0)
            reasons.Add($"the system scope did not return to zero: {end.System}");
        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    private async Task<Sample> SettleAsync(Libp2pHost node, Stopwatch watch, long[] counters)
    {
        Sample sample;
        var deadline = Stopwatch.StartNew();
        do
        {
            await Task.Delay(500);
            sample = await SampleAsync(node, watch.Elapsed, counters);
        }
        while ((sample.System.NumConnsInbound > 0 || sample.System.NumStreamsInbound > 0) && deadline.Elapsed < TimeSpan.FromSeconds(30));
        return sample;
    }

    private async Task<Sample> SampleAsync(Libp2pHost node, TimeSpan at, long[] counters)
    {
        var heap = ChurnScenarios.Heap();
        using var process = Process.GetCurrentProcess();
        var scopes = await node.ResourceSnapshotAsync();
        var actors = await CountActorsAsync(node.Actor.Path.ToStringWithoutAddress());
        return new Sample(at, heap, process.WorkingSet64, process.Threads.Count, actors, scopes.Single(s => s.Scope == "system").Usage,
            Interlocked.Read(ref counters[0]), Interlocked.Read(ref counters[1]), Interlocked.Read(ref counters[2]));
    }

    /// <summary>Actors under <paramref name="path"/>, found level by level with Identify.</summary>
    private async Task<int> CountActorsAsync(string path)
    {
        var count = 0;
        var level = new List<string> { path };
        while (level.Count > 0)
        {
            var next = new List<string>();
            foreach (var parent in level)
            {
                var children = await IdentifyAllAsync($"{parent}/*");
                count += children.Count;
                next.AddRange(children.Select(c => c.Path.ToStringWithoutAddress()));
            }
            level = next;
        }
        return count;
    }

    private async Task<IReadOnlyList<IActorRef>> IdentifyAllAsync(string selection)
    {
        var found = new List<IActorRef>();
        var inbox = Inbox.Create(system);
        system.ActorSelection(selection).Tell(new Identify(null), inbox.Receiver);
        // Every live child answers at once; a short silence ends the level.
        while (true)
        {
            try
            {
                if (await inbox.ReceiveAsync(TimeSpan.FromMilliseconds(200)) is ActorIdentity { Subject: { } subject })
                    found.Add(subject);
            }
            catch (TimeoutException)
            {
                return found;
            }
        }
    }

    /// <summary>Connections that open, echo a byte on one stream and close, one after another.</summary>
    private async Task ChurnAsync(Libp2pHost node, Multiaddr address, long[] counters, CancellationToken stop)
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await ChurnScenarios.EchoOnNewConnectionAsync(system, materializer, address, key, node.PeerId);
                Interlocked.Increment(ref counters[0]);
            }
            catch (Exception e) when (e is TransportException or ConnectionClosedException or StreamResetException or IOException)
            {
                // Counted as absent from the totals; the node's health is what is measured.
            }
        }
    }

    /// <summary>Sequential echoes on one long-lived connection, as an app protocol would use it.</summary>
    private static async Task EchoOnOneConnectionAsync(Libp2pHost client, Libp2pHost node, long[] counters, CancellationToken stop)
    {
        var payload = new byte[64];
        while (!stop.IsCancellationRequested)
        {
            await client.EchoAsync(node.PeerId, payload);
            Interlocked.Increment(ref counters[1]);
        }
    }

    /// <summary>
    /// A peer that opens 100 streams a connection with half a multistream header and leaves them,
    /// then drops the connection after a while; and connections that stop mid-upgrade.
    /// </summary>
    private async Task HostileAsync(Libp2pHost node, Multiaddr address, long[] counters, CancellationToken stop)
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var half = ByteString.FromBytes([0x13, .. "/multistream"u8]);
        while (!stop.IsCancellationRequested)
        {
            var dial = Upgrader.Dial(system, materializer, SocketTransport.Instance, address, new UpgradeSettings(key), node.PeerId);
            try
            {
                await dial.Connection.Upgraded.WaitAsync(TimeSpan.FromSeconds(10), stop);
                for (var i = 0; i < 100; i++)
                {
                    var stream = await dial.Connection.OpenStreamAsync(stop);
                    Source.Single(half).Concat(Source.Never<ByteString>()).RunWith(stream.Sink, materializer);
                    Interlocked.Increment(ref counters[2]);
                }
                await Task.Delay(TimeSpan.FromSeconds(3), stop);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException or ConnectionClosedException or MuxerException or TransportException)
            {
            }
            dial.Connection.Abort(new ConnectionClosedException("the hostile peer leaves"));
            // A connection that stops halfway through the upgrade.
            var cut = Upgrader.Dial(system, materializer, SocketTransport.Instance, address, new UpgradeSettings(key), node.PeerId);
            try
            {
                await cut.Transport.WaitAsync(TimeSpan.FromSeconds(10), stop);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException or TransportException)
            {
            }
            cut.Connection.Abort(new ConnectionClosedException("cut during the upgrade"));
        }
    }
}
