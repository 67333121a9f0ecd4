using System.Text.Json;

namespace Libp2p.Cli.Tests;

public sealed class DemoCommandTests
{
    [Fact]
    public async Task P2p_demo_must_run_two_nodes_through_every_service_and_exit_0()
    {
        var result = await P2pProcess.RunAsync("demo");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        Assert.Empty(result.Error);
        string[] expected =
        [
            "node-1 listening on /ip4/127.0.0.1/tcp/",
            "node-2 listening on /ip4/127.0.0.1/tcp/",
            "node-1 connected to node-2 (/noise, /yamux/1.0.0)",
            "node-1 identified node-2: agent libp2p-dotnet/",
            "node-2 identified node-1: agent libp2p-dotnet/",
            "node-1 pinged node-2: ",
            "node-1 echoed 64 KiB off node-2 in ",
            "node-1 perf node-2: up 8 MiB at ",
            "demo done: 2 nodes, 1 connection, all stopped in ",
        ];
        Assert.Equal(expected.Length, result.Output.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.StartsWith(expected[i], result.Output[i], StringComparison.Ordinal);
        Assert.Contains("/ipfs/ping/1.0.0", result.Output[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task P2p_demo_must_write_one_JSON_event_a_line_for_three_nodes()
    {
        var result = await P2pProcess.RunAsync("demo", "--nodes", "3", "--json");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        var events = result.Output.Select(line => JsonDocument.Parse(line).RootElement.GetProperty("event").GetString()).ToList();
        Assert.Equal(3, events.Count(e => e == "listening"));
        Assert.Equal(2, events.Count(e => e == "connected"));
        Assert.Equal(4, events.Count(e => e == "identified"));
        Assert.Equal(2, events.Count(e => e == "perf"));
        Assert.Equal("done", events[^1]);
    }
}
