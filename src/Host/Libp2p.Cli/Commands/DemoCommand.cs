using System.Diagnostics;
using System.Security.Cryptography;
using Libp2p.Host;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Commands;

/// <summary>
/// <c>p2p demo [--nodes N]</c>: N nodes in one process on loopback; node 1 connects to each other
/// node, and they identify each other, ping, echo and measure throughput; then all stop.
/// </summary>
internal static class DemoCommand
{
    private const int PingCount = 3;
    private const int EchoBytes = 64 << 10;
    private const long PerfBytes = 8 << 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(CommandLine line, TextWriter output)
    {
        var count = line.LongOption("nodes", 2);
        if (count is < 2 or > 64)
            throw new UsageException("invalid-value", "--nodes takes a number from 2 to 64");
        if (line.Positional.Count > 0)
            throw new UsageException("unexpected-argument", $"'demo' takes no arguments, got '{line.Positional[0]}'");

        var clock = Stopwatch.StartNew();
        var print = new Printer(line.Json, output);
        var system = Node.CreateSystem("p2p-demo");
        var hosts = new List<Libp2pHost>();
        try
        {
            for (var i = 1; i <= count; i++)
            {
                var settings = Node.DialerSettings(Akka.Configuration.ConfigurationFactory.Empty, Patience) with
                {
                    ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
                };
                var host = await Step($"start node-{i}", Libp2pHost.StartAsync(system, settings, $"node-{i}")).ConfigureAwait(false);
                hosts.Add(host);
                var address = (await host.AddressesAsync().ConfigureAwait(false))[0];
                print.Event("listening", $"node-{i} listening on {address}", new() { ["node"] = $"node-{i}", ["peer"] = host.PeerId.ToString(), ["address"] = address.ToString() });
            }
            var names = hosts.Select((h, i) => (h.PeerId, Name: $"node-{i + 1}")).ToDictionary(p => p.PeerId, p => p.Name);
            var first = hosts[0];
            for (var i = 1; i < hosts.Count; i++)
                await ExchangeAsync(first, hosts[i], names, print).ConfigureAwait(false);

            foreach (var host in hosts)
                await Step($"stop {names[host.PeerId]}", host.StopAsync()).ConfigureAwait(false);
            print.Event("done", $"demo done: {hosts.Count} nodes, {hosts.Count - 1} connection{(hosts.Count == 2 ? "" : "s")}, all stopped in {clock.Elapsed.TotalSeconds:0.00} s",
                new() { ["nodes"] = hosts.Count, ["connections"] = hosts.Count - 1, ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3) });
            return 0;
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    private static async Task ExchangeAsync(Libp2pHost a, Libp2pHost b, Dictionary<PeerId, string> names, Printer print)
    {
        var (from, to) = (names[a.PeerId], names[b.PeerId]);
        var address = (await b.AddressesAsync().ConfigureAwait(false))[0];
        var connection = await Step($"{from} connect to {to}", a.ConnectAsync(address)).ConfigureAwait(false);
        print.Event("connected", $"{from} connected to {to} ({connection.Security}, {connection.Muxer})",
            new() { ["node"] = from, ["to"] = to, ["address"] = address.ToString(), ["security"] = connection.Security, ["muxer"] = connection.Muxer });

        foreach (var (local, remote) in new[] { (a, b), (b, a) })
        {
            var identified = await Step($"{names[local.PeerId]} identify {names[remote.PeerId]}", local.IdentifyAsync(remote.PeerId)).ConfigureAwait(false);
            print.Event("identified", $"{names[local.PeerId]} identified {names[remote.PeerId]}: agent {identified.AgentVersion}, protocols {string.Join(' ', identified.Protocols)}",
                new() { ["node"] = names[local.PeerId], ["peer"] = names[remote.PeerId], ["agentVersion"] = identified.AgentVersion, ["protocols"] = identified.Protocols });
        }

        var times = await Step($"{from} ping {to}", a.PingAsync(b.PeerId, PingCount)).ConfigureAwait(false);
        print.Event("ping", $"{from} pinged {to}: {string.Join(", ", times.Select(Output.Ms))}",
            new() { ["node"] = from, ["peer"] = to, ["rttMs"] = times.Select(Output.JsonMs).ToArray() });

        var echoed = await Step($"{from} echo {to}", a.EchoAsync(b.PeerId, RandomNumberGenerator.GetBytes(EchoBytes))).ConfigureAwait(false);
        print.Event("echo", $"{from} echoed {Output.Size(EchoBytes)} off {to} in {Output.Ms(echoed)}",
            new() { ["node"] = from, ["peer"] = to, ["bytes"] = EchoBytes, ["ms"] = Output.JsonMs(echoed) });

        var perf = await Step($"{from} perf {to}", a.PerfAsync(b.PeerId, PerfBytes, PerfBytes)).ConfigureAwait(false);
        print.Event("perf", $"{from} perf {to}: up {Output.Size(perf.Uploaded)} at {Output.Rate(perf.UploadBitsPerSecond)}, down {Output.Size(perf.Downloaded)} at {Output.Rate(perf.DownloadBitsPerSecond)}",
            new()
            {
                ["node"] = from, ["peer"] = to,
                ["uploadBytes"] = perf.Uploaded, ["uploadBitsPerSecond"] = Math.Round(perf.UploadBitsPerSecond),
                ["downloadBytes"] = perf.Downloaded, ["downloadBitsPerSecond"] = Math.Round(perf.DownloadBitsPerSecond),
            });
    }

    /// <summary>Awaits one step of the demo, bounded, naming the step if it fails.</summary>
    private static async Task<T> Step<T>(string name, Task<T> step)
    {
        try
        {
            return await step.WaitAsync(Patience).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new CommandFailedException($"demo: {name}: no result within {Patience.TotalSeconds:0} s");
        }
        catch (Exception e)
        {
            throw new CommandFailedException($"demo: {name}: {Failure.Describe(e)}", e);
        }
    }

    private static Task<bool> Step(string name, Task step) => Step(name, Done(step));

    private static async Task<bool> Done(Task step)
    {
        await step.ConfigureAwait(false);
        return true;
    }

    private sealed class Printer(bool json, TextWriter output)
    {
        public void Event(string name, string plain, Dictionary<string, object?> fields) => Output.Event(output, json, name, plain, fields);
    }
}
