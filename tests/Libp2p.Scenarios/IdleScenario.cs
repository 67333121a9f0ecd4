using System.Diagnostics;
using Akka.Actor;
using Akka.Streams;
using Libp2p.Actors.Resources;
using Libp2p.Host;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Scenarios;

/// <summary>
/// What an idle node costs (issue 11): CPU time of a listening host's process with no connection
/// and with 100 idle ones, and its managed heap (after a forced GC) and process memory before and
/// after 1,000 idle connections and then one idle echo stream on each. The dialing side is a child
/// process (this program with <c>--idle-dialer</c>), so the listener's figures are its own. Both
/// sides run on the <see cref="TimerScheduler"/>, as the command line and Akka.Hosting do.
/// </summary>
internal static class IdleScenario
{
    private const string Config = "akka.loglevel = WARNING\n" + TimerScheduler.Hocon;

    public static async Task<int> RunAsync(TimeSpan window, int connections, Action<string> line)
    {
        using var system = ActorSystem.Create("idle-listener", Config);
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var settings = new HostSettings(key) { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
        // The measurement is of the path, not of the limits: nothing is refused.
        settings = settings with { Swarm = settings.Swarm with { Resources = ResourceManager.Null() } };
        var host = await Libp2pHost.StartAsync(system, settings, "idle");
        var address = (await host.AddressesAsync())[0].Decapsulate("p2p");

        await Task.Delay(TimeSpan.FromSeconds(2)); // start-up settles
        // The first window still holds the JIT's second pass over the start-up code (tiered
        // compilation, on a background thread; with it off the first window costs a fifth);
        // the second is what a node idles at.
        var idle = await CpuAsync(window);
        var idleAgain = await CpuAsync(window);
        line($"| listening, no connection, two windows one after the other | {idle:P3}, {idleAgain:P3} |");

        using var dialer = StartDialer(address, host.PeerId);
        await dialer.AskAsync("conns 100");
        // The listener's side of each connection is still busy for a moment (identify both ways).
        await Task.Delay(TimeSpan.FromSeconds(10));
        var hundred = await CpuAsync(window);
        var again = await CpuAsync(window);
        line($"| listening, 100 idle connections (keep-alive pings every 30 s), two windows one after the other | {hundred:P3}, {again:P3} |");
        line("");

        var before = await SettledMemoryAsync();
        await dialer.AskAsync($"conns {connections - 100}");
        var connected = await SettledMemoryAsync();
        await HoldAsync("IDLE_HOLD_CONNECTED");
        await dialer.AskAsync("streams");
        var streaming = await SettledMemoryAsync();
        line("| listening side | managed heap after GC | process private memory | process resident set |");
        line("| --- | ---: | ---: | ---: |");
        line($"| per idle connection ({connections - 100} more, Noise + yamux, identify done) | {Per(before, connected, connections - 100)} |");
        line($"| per idle stream (one /echo/1.0.0 stream on each of {connections} connections) | {Per(connected, streaming, connections)} |");
        line("");
        line($"The heap figures leave out the transport pool's idle arrays, a process-wide cache of at most {Libp2p.Protocols.Transport.TransportBuffers.Retained} × 80 KiB " +
             $"that whichever phase first needs them fills: {before.Pool / 1024} KiB, {connected.Pool / 1024} KiB and {streaming.Pool / 1024} KiB at the three snapshots. " +
             $"Arrays of that pool alive at the last one: {Libp2p.Protocols.Transport.TransportBuffers.LiveCount}, of which idle in the pool {Libp2p.Protocols.Transport.TransportBuffers.IdleCount} (any other is held by a connection).");

        await HoldAsync("IDLE_HOLD");
        await dialer.AskAsync("quit");
        await host.StopAsync();
        await system.Terminate();
        return 0;
    }

    /// <summary>
    /// <c>IDLE_HOLD_CONNECTED=SECONDS</c> holds the listener with its connections before the streams
    /// open, <c>IDLE_HOLD=SECONDS</c> with its streams open: time for a heap dump (dotnet-gcdump) each,
    /// whose difference is what the streams hold.
    /// </summary>
    private static async Task HoldAsync(string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) is not { } hold)
            return;
        Console.WriteLine($"{variable}: holding, pid {Environment.ProcessId}");
        await Task.Delay(TimeSpan.FromSeconds(int.Parse(hold, System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static string Per((long Heap, long Process, long Resident, long Pool) from, (long Heap, long Process, long Resident, long Pool) to, int count) =>
        $"{(to.Heap - from.Heap) / 1024.0 / count:F1} KiB | {(to.Process - from.Process) / 1024.0 / count:F1} KiB | {(to.Resident - from.Resident) / 1024.0 / count:F1} KiB";

    /// <summary>The share of one core this process used over <paramref name="window"/>.</summary>
    private static async Task<double> CpuAsync(TimeSpan window)
    {
        using var self = Process.GetCurrentProcess();
        var before = self.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        await Task.Delay(window);
        self.Refresh();
        return (self.TotalProcessorTime - before).TotalMilliseconds / watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>
    /// The memory once the listener has settled: what the last connections or streams set going
    /// (identify both ways, negotiations, their replies) still holds objects for a moment, and a
    /// snapshot taken then moved the per-stream figure by 20 KiB between runs. Snapshots every
    /// half second until three in a row agree within 64 KiB (at most 40).
    /// </summary>
    private static async Task<(long Heap, long Process, long Resident, long Pool)> SettledMemoryAsync()
    {
        var last = Memory();
        var agreeing = 0;
        for (var i = 0; i < 40 && agreeing < 2; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var next = Memory();
            agreeing = Math.Abs(next.Heap - last.Heap) < 64 * 1024 ? agreeing + 1 : 0;
            last = next;
        }
        return last;
    }

    private static (long Heap, long Process, long Resident, long Pool) Memory()
    {
        var heap = ChurnScenarios.Heap();
        var pool = (long)Libp2p.Protocols.Transport.TransportBuffers.IdleCount * Libp2p.Protocols.Transport.TransportBuffers.Size;
        using var self = Process.GetCurrentProcess();
        return (heap - pool, self.PrivateMemorySize64, self.WorkingSet64, pool);
    }

    private static Dialer StartDialer(Multiaddr address, PeerId peer)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(typeof(IdleScenario).Assembly.Location);
        info.ArgumentList.Add("--idle-dialer");
        info.ArgumentList.Add(address.ToString());
        info.ArgumentList.Add(peer.ToString());
        return new Dialer(Process.Start(info) ?? throw new InvalidOperationException("the dialer process did not start"));
    }

    private sealed class Dialer(Process process) : IDisposable
    {
        public async Task AskAsync(string command)
        {
            await process.StandardInput.WriteLineAsync(command);
            await process.StandardInput.FlushAsync();
            var answer = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(5));
            if (answer != "ok")
                throw new InvalidOperationException($"the dialer answered '{command}' with '{answer}'");
        }

        public void Dispose()
        {
            if (!process.HasExited)
                process.Kill();
            process.Dispose();
        }
    }

    /// <summary>
    /// Answers the listener's identify requests on <paramref name="connection"/> as a peer does.
    /// Left unanswered, each waited for its timeout with its stream and buffers, so the snapshot
    /// after the connections counted those, and the one after the streams counted them gone.
    /// </summary>
    private static async Task AnswerIdentifyAsync(MuxedConnection connection, PublicKey key)
    {
        var message = new IdentifyMessage
        {
            PublicKey = key,
            ProtocolVersion = "ipfs/0.1.0",
            AgentVersion = "libp2p-scenarios/idle-dialer",
            Protocols = [IdentifyMessage.ProtocolId],
        }.ToDelimitedBytes();
        await foreach (var stream in connection.InboundStreams.ReadAllAsync())
        {
            await using var io = stream.AsStream();
            io.ReadTimeout = io.WriteTimeout = 30_000;
            try
            {
                await MultistreamSelect.HandleAsync(io, [IdentifyMessage.ProtocolId]);
                await io.WriteAsync(message);
            }
            catch (Exception e) when (e is IOException or TimeoutException)
            {
                // The listener gave up on this one; the next may still come.
            }
        }
    }

    /// <summary>The child: opens connections (one key each) and streams when told, and holds them idle.</summary>
    public static async Task<int> DialerAsync(Multiaddr address, PeerId peer)
    {
        using var system = ActorSystem.Create("idle-dialer", Config);
        var materializer = system.Materializer();
        var connections = new List<MuxedConnection>();
        var streams = new List<Stream>();
        while (await Console.In.ReadLineAsync() is { } command)
        {
            var words = command.Split(' ');
            switch (words[0])
            {
                case "conns":
                    for (var i = int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture); i > 0; i--)
                    {
                        using var key = PrivateKey.Generate(KeyType.Ed25519);
                        var dial = Upgrader.Dial(system, materializer, SocketTransport.Instance, address, new UpgradeSettings(key), peer);
                        await dial.Connection.Upgraded.WaitAsync(TimeSpan.FromSeconds(30));
                        connections.Add(dial.Connection);
                        _ = AnswerIdentifyAsync(dial.Connection, key.PublicKey);
                    }
                    break;
                case "streams":
                    foreach (var connection in connections)
                    {
                        var stream = await connection.OpenStreamAsync();
                        var io = stream.AsStream();
                        io.ReadTimeout = io.WriteTimeout = 30_000;
                        await MultistreamSelect.SelectOneOfAsync(io, ["/echo/1.0.0"]);
                        streams.Add(io);
                    }
                    // The last stream's negotiation is answered; let the listener's side settle on every one.
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    break;
                case "quit":
                    Console.WriteLine("ok");
                    await system.Terminate();
                    return 0;
            }
            Console.WriteLine("ok");
        }
        return 0;
    }
}
