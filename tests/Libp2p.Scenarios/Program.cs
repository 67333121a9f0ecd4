using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Interop;
using Libp2p.Protocols.Transport;
using Libp2p.Scenarios;

// End-to-end scenarios, each measured beside its baselines in the same run:
//   dotnet run -c Release --project tests/Libp2p.Scenarios -- [--mib 256] [--connections 1000] [--no-js]
//   … -- --transports [--mib 256] [--connections 1000] [--no-js]: TCP beside WebSockets only
//   … -- --security [--mib 256] [--connections 1000] [--no-js]: Noise beside TLS only
//   … -- --streams 100 [--mib 256]: 100 concurrent streams on one connection beside one stream
//   … -- --engines 3 [--mib 256] [--no-js]: each engine beside its baselines (plain, with Noise's cipher, js-libp2p), two hosts, 3 rounds and the medians
// SCENARIO_AKKA=<HOCON> adds to the runner's ActorSystem configuration, for trying Akka settings
// (akka.io.tcp's frame and buffer sizes, say) on every row alike.
var mib = Arg("--mib", 256);
var connections = Arg("--connections", 1000);
var withJs = !args.Contains("--no-js");
var bytes = mib * 1024L * 1024;

// --idle SECONDS [--connections N]: idle CPU and memory of a listening host (issue 11).
if (Array.IndexOf(args, "--idle-dialer") is var dialerAt and >= 0)
    return await IdleScenario.DialerAsync(Multiaddr.Parse(args[dialerAt + 1]), PeerId.Parse(args[dialerAt + 2]));
if (Arg("--idle", 0) is var idleSeconds and > 0)
{
    var idleReport = new StringBuilder();
    void IdleLine(string text)
    {
        Console.WriteLine(text);
        idleReport.AppendLine(text);
    }
    IdleLine($"# Idle node ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, socket engine, {idleSeconds} s per CPU figure)");
    IdleLine("");
    IdleLine("| listening host | CPU, share of one core |");
    IdleLine("| --- | ---: |");
    var code = await IdleScenario.RunAsync(TimeSpan.FromSeconds(idleSeconds), connections, IdleLine);
    Directory.CreateDirectory(Path.Combine("artifacts", "bench"));
    await File.WriteAllTextAsync(Path.Combine("artifacts", "bench", "idle.md"), idleReport.ToString());
    return code;
}

using var system = ActorSystem.Create("scenarios", ConfigurationFactory.ParseString(Environment.GetEnvironmentVariable("SCENARIO_AKKA") ?? "").WithFallback(ConfigurationFactory.ParseString("""
    akka.loglevel = WARNING
    # The resource manager's scope actors on one dedicated thread, measured beside the default dispatcher.
    scenarios.rcmgr-one-thread {
      type = Dispatcher
      executor = fork-join-executor
      fork-join-executor { parallelism-min = 1, parallelism-factor = 1.0, parallelism-max = 1 }
      throughput = 100
    }
    """)));
var materializer = system.Materializer();
// --soak MINUTES [--sample SECONDS]: a node's long life under churn and a hostile peer (issue 9);
// exits 1 if heap, memory, threads or actors trend upward or the scopes do not return to zero.
if (Arg("--soak", 0) is var soakMinutes and > 0)
{
    var soak = new SoakScenario(system, materializer);
    var table = new StringBuilder();
    void Row(string text)
    {
        Console.WriteLine(text);
        table.AppendLine(text);
    }
    Row($"# Soak ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {soakMinutes} min, {Environment.ProcessorCount} cores)");
    Row("");
    Row("| minute | managed heap MiB | working set MiB | threads | actors | system scope: conns in, streams in, memory | connections churned | echoes on one connection | hostile streams |");
    Row("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    // --loads churn,echo,hostile: a subset of the loads, to find which one a trend comes from.
    var loadsArg = Array.IndexOf(args, "--loads") is var at and >= 0 ? args[at + 1].Split(',').ToHashSet() : null;
    var samples = await soak.RunAsync(TimeSpan.FromMinutes(soakMinutes), TimeSpan.FromSeconds(Arg("--sample", 60)), s =>
        Row($"| {s.At.TotalMinutes:F1} | {s.Heap / 1048576.0:F1} | {s.WorkingSet / 1048576.0:F0} | {s.Threads} | {s.Actors} | {s.System.NumConnsInbound}, {s.System.NumStreamsInbound}, {s.System.Memory} | {s.Connections} | {s.Echoes} | {s.HostileStreams} |"), loadsArg);
    var trend = SoakScenario.Trend(samples);
    Row("");
    Row(trend is null ? "No upward trend; the node returned to zero." : $"FAILED: {trend}");
    Directory.CreateDirectory(Path.Combine("artifacts", "bench"));
    await File.WriteAllTextAsync(Path.Combine("artifacts", "bench", "soak.md"), table.ToString());
    await system.Terminate();
    return trend is null ? 0 : 1;
}
// --churn N: only what N connections that open and close leave behind in the listener (issue 9).
if (Arg("--churn", 0) is var churn and > 0)
{
    var churner = new ChurnScenarios(system, materializer);
    foreach (var refused in new[] { false, true })
    {
        var (before, after) = await churner.ChurnAsync(churn, refused);
        Console.WriteLine($"{churn} connections {(refused ? "refused for resource limits" : "served (echo of one byte) and closed")}: managed heap {before / 1024.0 / 1024:F1} MiB before, {after / 1024.0 / 1024:F1} MiB after, {(after - before) / 1024.0:F0} KiB more ({(after - before) / 1024.0 / churn:F1} KiB a connection)");
    }
    await system.Terminate();
    return 0;
}
// --security: only Noise beside TLS (issue 13): one-stream throughput and connection set-up, each over TCP + yamux.
if (args.Contains("--security"))
{
    var security = new Scenarios(system, materializer);
    var rows = new StringBuilder();
    void SecurityRow(string text)
    {
        Console.WriteLine(text);
        rows.AppendLine(text);
    }
    SecurityRow($"# Noise and TLS ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {mib} MiB per transfer, {connections} connections)");
    SecurityRow("");
    SecurityRow("| stack | upload MiB/s | download MiB/s | connection set-up p50 ms | p99 ms |");
    SecurityRow("| --- | ---: | ---: | ---: | ---: |");
    await security.WarmUpAsync();
    foreach (var (name, protocol) in new[] { ("TCP + Noise + yamux", "/noise"), ("TCP + TLS + yamux", "/tls/1.0.0") })
    {
        var up = await security.Libp2pAsync(bytes, upload: true, SocketTransport.Instance, security: protocol);
        var down = await security.Libp2pAsync(bytes, upload: false, SocketTransport.Instance, security: protocol);
        var set = await security.ConnectionSetupAsync(connections, security: protocol);
        SecurityRow($"| ours: {name} | {up:F0} | {down:F0} | {set.P50:F2} | {set.P99:F2} |");
    }
    if (withJs)
    {
        foreach (var protocol in new[] { "noise", "tls" })
        {
            var set = await security.JsConnectionSetupAsync(connections, security: protocol);
            SecurityRow($"| js-libp2p ⇄ js-libp2p: TCP + {(protocol == "tls" ? "TLS" : "Noise")} + yamux | | | {set.P50:F2} | {set.P99:F2} |");
        }
    }
    Directory.CreateDirectory(Path.Combine("artifacts", "bench"));
    await File.WriteAllTextAsync(Path.Combine("artifacts", "bench", "security.md"), rows.ToString());
    await system.Terminate();
    return 0;
}
var runner = new Scenarios(system, materializer);
// --transports: TCP beside WebSockets (both on the socket engine, Noise + yamux), ours and js's (issue 13).
if (args.Contains("--transports"))
{
    await runner.WarmUpAsync();
    Console.WriteLine($"# Transports ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {mib} MiB per transfer, {connections} set-ups)");
    Console.WriteLine();
    Console.WriteLine("| transport + Noise + yamux | ours up MiB/s | ours down MiB/s | ours set-up p50 ms | p99 ms | js⇄js up MiB/s | js⇄js down MiB/s | js set-up p50 ms | p99 ms |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var (name, transport, listen) in new (string, ITransport, string)[]
    {
        ("tcp", SocketTransport.Instance, "/ip4/127.0.0.1/tcp/0"),
        ("ws", Libp2p.Protocols.Transport.WebSockets.WebSocketTransport.Instance, "/ip4/127.0.0.1/tcp/0/ws"),
    })
    {
        var up = await runner.Libp2pAsync(bytes, upload: true, transport, listen);
        var down = await runner.Libp2pAsync(bytes, upload: false, transport, listen);
        var (p50, p99) = await runner.ConnectionSetupAsync(connections, transport, listen);
        var jsCells = "| – | – | – | – |";
        if (withJs)
        {
            var (jsUp, jsDown) = await runner.JsToJsAsync(bytes, name);
            var (jsP50, jsP99) = await runner.JsConnectionSetupAsync(connections, name);
            jsCells = $"| {jsUp:F0} | {jsDown:F0} | {jsP50:F2} | {jsP99:F2} |";
        }
        Console.WriteLine($"| {name} | {up:F0} | {down:F0} | {p50:F2} | {p99:F2} {jsCells}");
    }
    await system.Terminate();
    return 0;
}
// --streams N [--mib M]: N concurrent streams on one connection beside one stream, same run (issue 11).
if (Arg("--streams", 0) is var concurrent and > 0)
{
    await runner.WarmUpAsync();
    var cpu0 = CpuNow();
    var (gc0, pause0, alloc0) = (GC.CollectionCount(1), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());
    var single = await runner.Libp2pAsync(bytes, upload: true, SocketTransport.Instance);
    var cpu1 = CpuNow();
    var (gc1, pause1, alloc1) = (GC.CollectionCount(1), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());
    var many = await runner.ConcurrentStreamsAsync(bytes, concurrent);
    var cpu2 = CpuNow();
    var (gc2, pause2, alloc2) = (GC.CollectionCount(1), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());
    Console.WriteLine($"GC: one stream {gc1 - gc0} gen1 collections, {(pause1 - pause0).TotalMilliseconds:F0} ms paused, {(alloc1 - alloc0) / (double)bytes:P1} of the bytes allocated; " +
                      $"{concurrent} streams {gc2 - gc1} gen1 collections, {(pause2 - pause1).TotalMilliseconds:F0} ms paused, {(alloc2 - alloc1) / (double)bytes:P1} of the bytes allocated");
    var mibs = bytes / 1024.0 / 1024.0;
    Console.WriteLine($"# Concurrent streams ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, socket engine + Noise + yamux, {mib} MiB in all)");
    Console.WriteLine();
    Console.WriteLine("| streams on one connection | aggregate MiB/s | Jain's fairness index | slowest stream MiB/s | fastest stream MiB/s | CPU ms per MiB (both ends) |");
    Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
    Console.WriteLine($"| 1 | {single:F0} | 1 | {single:F0} | {single:F0} | {(cpu1 - cpu0).TotalMilliseconds / mibs:F2} |");
    Console.WriteLine($"| {concurrent} | {many.Aggregate:F0} | {many.Fairness:F3} | {many.Slowest:F1} | {many.Fastest:F1} | {(cpu2 - cpu1).TotalMilliseconds / mibs:F2} |");
    Console.WriteLine();
    Console.WriteLine($"aggregate / one stream = {many.Aggregate / single:P0}");
    await system.Terminate();
    return 0;
}
// --engines ROUNDS [--mib M]: each engine's one-stream row beside its baselines, plain and with
// Noise's cipher, ROUNDS times (the loop to iterate on the byte path with; issue 11).
if (Arg("--engines", 0) is var rounds and > 0)
{
    await runner.WarmUpAsync();
    await runner.Libp2pAsync(bytes / 4, upload: true, SocketTransport.Instance);
    Console.WriteLine("MiB/s up / down, and CPU ms per MiB up / down (both ends):");
    Console.WriteLine();
    Console.WriteLine("| round | Socket pair | + Noise's cipher | socket engine | engine / pair, / pair + Noise | bare Akka.Streams TCP | + Noise's cipher | akka-io engine | engine / bare, / bare + Noise | two hosts, /perf/1.0.0 | hosts / socket engine | js-libp2p ⇄ js-libp2p |");
    Console.WriteLine("| ---: | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    static string Cell((double Up, double Down, string Cpu) row) => $"{row.Up:F0} / {row.Down:F0} ({row.Cpu})";
    static string Ratios((double Up, double Down, string Cpu) engine, (double Up, double Down, string Cpu) plain, (double Up, double Down, string Cpu) sealedRow) =>
        $"{engine.Up / plain.Up:P0} / {engine.Down / plain.Down:P0}, {engine.Up / sealedRow.Up:P0} / {engine.Down / sealedRow.Down:P0}";
    var ratios = new Dictionary<string, List<double>>();
    for (var round = 1; round <= rounds; round++)
    {
        var pair = await Both(up => runner.SocketAsync(bytes, upload: up));
        var noisePair = await Both(up => runner.NoiseSocketAsync(bytes, upload: up));
        var socketEngine = await Both(up => runner.Libp2pAsync(bytes, upload: up, SocketTransport.Instance));
        var bare = await Both(up => runner.AkkaTcpAsync(bytes, upload: up));
        var bareNoise = await Both(up => runner.AkkaTcpAsync(bytes, upload: up, noise: true));
        var akkaEngine = await Both(up => runner.Libp2pAsync(bytes, upload: up));
        var hosts = await runner.HostPerfAsync(bytes);
        var jsRound = withJs ? await runner.JsToJsAsync(bytes) : ((double Up, double Down)?)null;
        Console.WriteLine($"| {round} | {Cell(pair)} | {Cell(noisePair)} | {Cell(socketEngine)} | {Ratios(socketEngine, pair, noisePair)} | {Cell(bare)} | {Cell(bareNoise)} | {Cell(akkaEngine)} | {Ratios(akkaEngine, bare, bareNoise)} | {hosts.Up:F0} / {hosts.Down:F0} | {hosts.Up / socketEngine.Up:P0} / {hosts.Down / socketEngine.Down:P0} | {(jsRound is { } jsRow ? $"{jsRow.Up:F0} / {jsRow.Down:F0}" : "")} |");
        var versusJs = jsRound is { } jsPair
            ? new[]
            {
                ("socket engine / js up", socketEngine.Up / jsPair.Up), ("socket engine / js down", socketEngine.Down / jsPair.Down),
                ("akka-io engine / js up", akkaEngine.Up / jsPair.Up), ("akka-io engine / js down", akkaEngine.Down / jsPair.Down),
                ("hosts / js up", hosts.Up / jsPair.Up), ("hosts / js down", hosts.Down / jsPair.Down),
            }
            : [];
        foreach (var (name, value) in versusJs.Concat(new[]
        {
            ("socket engine / pair up", socketEngine.Up / pair.Up), ("socket engine / pair down", socketEngine.Down / pair.Down),
            ("socket engine / pair + Noise up", socketEngine.Up / noisePair.Up), ("socket engine / pair + Noise down", socketEngine.Down / noisePair.Down),
            ("akka-io engine / bare up", akkaEngine.Up / bare.Up), ("akka-io engine / bare down", akkaEngine.Down / bare.Down),
            ("akka-io engine / bare + Noise up", akkaEngine.Up / bareNoise.Up), ("akka-io engine / bare + Noise down", akkaEngine.Down / bareNoise.Down),
            ("hosts / socket engine up", hosts.Up / socketEngine.Up), ("hosts / socket engine down", hosts.Down / socketEngine.Down),
        }))
            (ratios.TryGetValue(name, out var list) ? list : ratios[name] = []).Add(value);
    }
    // One round swings with whatever else the two cores run; the median of each ratio over the
    // rounds is the figure to judge by.
    Console.WriteLine();
    Console.WriteLine("Median over the rounds: " + string.Join("; ", ratios.Select(r => $"{r.Key} {Median(r.Value):P0}")));
    static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }
    await system.Terminate();
    return 0;
}
var report = new StringBuilder();
void Line(string text)
{
    Console.WriteLine(text);
    report.AppendLine(text);
}
// --connmgr: only the connection manager's cost on connection set-up (issue 14).
if (args.Contains("--connmgr"))
{
    Console.WriteLine($"# Connection manager ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {connections} set-ups per row, two rounds each, alternating)");
    await ConnectionManagerScenario.SetupAsync(system, 50, managed: false);
    for (var round = 1; round <= 2; round++)
    {
        foreach (var managed in new[] { false, true })
        {
            var (p50, p99) = await ConnectionManagerScenario.SetupAsync(system, connections, managed);
            Console.WriteLine($"| round {round}, {(managed ? "with the default connection manager" : "no connection manager")} | p50 {p50:F2} ms | p99 {p99:F2} ms |");
        }
    }
    await system.Terminate();
    return 0;
}
// --resources: only the resource manager's figures (issue 10).
if (args.Contains("--resources"))
{
    await ResourceLines(system);
    await system.Terminate();
    return 0;
}

Line($"# Scenarios ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {mib} MiB per transfer, 64 KiB writes)");
Line("");
// Both ends of the in-process rows run here: the process's CPU time per MiB moved says what a
// row costs whatever else the machine runs, which MiB/s alone does not on a shared machine.
Line("| scenario | upload MiB/s | download MiB/s | CPU ms per MiB (both ends, up / down) |");
Line("| --- | ---: | ---: | ---: |");
await runner.WarmUpAsync();
var socket = await Both(up => runner.SocketAsync(bytes, upload: up));
Line($"| plain .NET Socket pair | {socket.Up:F0} | {socket.Down:F0} | {socket.Cpu} |");
var noiseSocket = await Both(up => runner.NoiseSocketAsync(bytes, upload: up));
Line($"| plain .NET Socket pair + Noise's cipher (no muxer, no actors) | {noiseSocket.Up:F0} | {noiseSocket.Down:F0} | {noiseSocket.Cpu} |");
var akka = await Both(up => runner.AkkaTcpAsync(bytes, upload: up));
Line($"| bare Akka.Streams TCP | {akka.Up:F0} | {akka.Down:F0} | {akka.Cpu} |");
var akkaNoise = await Both(up => runner.AkkaTcpAsync(bytes, upload: up, noise: true));
Line($"| bare Akka.Streams TCP + Noise's cipher in the graphs (no muxer) | {akkaNoise.Up:F0} | {akkaNoise.Down:F0} | {akkaNoise.Cpu} |");
var ours = await Both(up => runner.Libp2pAsync(bytes, upload: up));
Line($"| ours: TCP + Noise + yamux (akka-io engine) | {ours.Up:F0} | {ours.Down:F0} | {ours.Cpu} |");
var oursSocket = await Both(up => runner.Libp2pAsync(bytes, upload: up, SocketTransport.Instance));
Line($"| ours: TCP + Noise + yamux (socket engine) | {oursSocket.Up:F0} | {oursSocket.Down:F0} | {oursSocket.Cpu} |");
var hostPerfCpu = CpuNow();
var hostPerf = await runner.HostPerfAsync(bytes);
Line($"| ours: two hosts, /perf/1.0.0 service (Stream adapter) | {hostPerf.Up:F0} | {hostPerf.Down:F0} | {(CpuNow() - hostPerfCpu).TotalMilliseconds / (2.0 * bytes / 1024 / 1024):F2} (both ways) |");
(double Up, double Down)? js = null, jsToJs = null;
if (withJs)
{
    js = await runner.WithJsAsync(bytes);
    Line($"| ours ⇄ js-libp2p (perf) | {js.Value.Up:F0} | {js.Value.Down:F0} |");
    jsToJs = await runner.JsToJsAsync(bytes);
    Line($"| js-libp2p ⇄ js-libp2p (perf) | {jsToJs.Value.Up:F0} | {jsToJs.Value.Down:F0} |");
}
Line("");
Line($"Ratios: ours (akka-io) / bare Akka.Streams TCP = {ours.Up / akka.Up:P0} up, {ours.Down / akka.Down:P0} down; " +
     $"ours (akka-io) / bare Akka.Streams TCP + Noise = {ours.Up / akkaNoise.Up:P0} up, {ours.Down / akkaNoise.Down:P0} down; " +
     $"ours (socket engine) / Socket = {oursSocket.Up / socket.Up:P0} up, {oursSocket.Down / socket.Down:P0} down; " +
     $"ours (socket engine) / Socket + Noise = {oursSocket.Up / noiseSocket.Up:P0} up, {oursSocket.Down / noiseSocket.Down:P0} down; " +
     $"host perf / ours (socket engine) = {hostPerf.Up / oursSocket.Up:P0} up, {hostPerf.Down / oursSocket.Down:P0} down" +
     (jsToJs is { } j ? $"; ours (socket engine) / js-to-js = {oursSocket.Up / j.Up:F2}x up, {oursSocket.Down / j.Down:F2}x down; host perf / js-to-js = {hostPerf.Up / j.Up:F2}x up, {hostPerf.Down / j.Down:F2}x down" : ""));
Line("");
var setup = await runner.ConnectionSetupAsync(connections);
Line($"Connection set-up (TCP + Noise + yamux + a 1-byte round trip), {connections} sequential: p50 {setup.P50:F2} ms, p99 {setup.P99:F2} ms");
if (withJs)
{
    var jsSetup = await runner.JsConnectionSetupAsync(connections);
    Line($"js-libp2p to js-libp2p, same scenario: p50 {jsSetup.P50:F2} ms, p99 {jsSetup.P99:F2} ms; ours / js p50 = {setup.P50 / jsSetup.P50:F2}");
}
Line("");
await ResourceLines(system);
var output = Path.Combine("artifacts", "bench");
Directory.CreateDirectory(output);
await File.WriteAllTextAsync(Path.Combine(output, "scenarios.md"), report.ToString());
Console.WriteLine($"written to {Path.Combine(output, "scenarios.md")}");
await system.Terminate();
return 0;

async Task ResourceLines(ActorSystem actors)
{
    var cores = Environment.ProcessorCount;
    string Row(string what, int requesters, ResourceScenarios.Approvals a) =>
        $"| {what} | {requesters} | {a.P50Micros:F1} | {a.P99Micros:F1} | {a.PerSecond / 1000:F0} k | {a.BytesPerApproval:F0} | {a.CpuMicrosPerApproval:F1} |";
    Line($"Load average at the start: {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown")}");
    Line("");
    Line("| approval by the scope actors | requesters | p50 µs | p99 µs | approvals/s | bytes allocated per approval | CPU µs per approval |");
    Line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    string[] names =
    [
        "memory in a stream scope (stream, system, peer, protocol, service): answer in the request, default dispatcher (shipped)",
        "the same: answer in the request, scope actors on one dedicated thread",
        "the same: Ask per request (the facade before), default dispatcher",
    ];
    // The variants take turns within each line, so the load of other processes falls on each alike.
    foreach (var (requesters, per) in new[] { (1, 30_000), (cores, 30_000), (64, 6_000) })
        foreach (var (variant, approvals) in await ResourceScenarios.ReservationsAsync(actors, requesters, per))
            Line(Row(names[(int)variant], requesters, approvals));
    Line(Row("a stream's scope opened: system, peer, transient", 1, await ResourceScenarios.StreamScopesAsync(actors, 1)));
    Line(Row("a stream's scope opened: system, peer, transient", cores, await ResourceScenarios.StreamScopesAsync(actors, cores)));
    Line("");
    var limited = await ResourceScenarios.SwarmStreamsAsync(actors, withLimits: true);
    var unlimited = await ResourceScenarios.SwarmStreamsAsync(actors, withLimits: false);
    var limited2 = await ResourceScenarios.SwarmStreamsAsync(actors, withLimits: true);
    var unlimited2 = await ResourceScenarios.SwarmStreamsAsync(actors, withLimits: false);
    Line($"100 concurrent streams between two Swarms (1 MiB each): with scaled limits {(limited + limited2) / 2:F0} MiB/s, null resource manager {(unlimited + unlimited2) / 2:F0} MiB/s, cost {(1 - (limited + limited2) / (unlimited + unlimited2)):P0}");
}

TimeSpan CpuNow() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

// A row both ways, with the CPU time per MiB each way took.
async Task<(double Up, double Down, string Cpu)> Both(Func<bool, Task<double>> run)
{
    var start = CpuNow();
    var up = await run(true);
    var middle = CpuNow();
    var down = await run(false);
    var end = CpuNow();
    var perMiB = bytes / 1024.0 / 1024.0;
    return (up, down, $"{(middle - start).TotalMilliseconds / perMiB:F2} / {(end - middle).TotalMilliseconds / perMiB:F2}");
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
