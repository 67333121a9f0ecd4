using System.Diagnostics;

namespace Libp2p.Cli.Tests.Netns;

/// <summary>A link cut without FIN or RST, found by keep-alive; the partition heals and the node is back on its relay.</summary>
[Trait("Category", "Netns")]
public sealed class PartitionTests(NetnsTestbed testbed) : IClassFixture<NetnsTestbed>, IDisposable
{
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"l2p-partition-{Guid.NewGuid():N}.conf");

    public void Dispose() => File.Delete(_config);

    [NetnsFact]
    public async Task A_cut_link_must_be_found_by_keep_alive_within_its_bound_and_the_reservation_must_come_back_once_healed()
    {
        // A ping every second: an unanswered one is found at the next tick, so the bound is two intervals (and the scheduler's slack).
        await File.WriteAllTextAsync(_config, "akka.libp2p { connection.keep-alive-interval = 1s, dial.timeout = 10s, dial.backoff-base = 1s }");
        await using var relay = P2pProcess.StartIn(testbed.Namespace("relay"), "listen", "--relay", "--listen", $"/ip4/{testbed.Vars["RELAY_ADDR"]}/tcp/4001", "--config", _config);
        var relayAddress = (await relay.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        await using var node = P2pProcess.StartIn(testbed.Namespace("a"), "listen", "--listen", "/ip4/0.0.0.0/tcp/4001", "--reserve", relayAddress, "--config", _config);
        var nodePeer = (await node.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal))).Split("/p2p/")[^1];
        await node.LineAsync(l => l.StartsWith("RESERVED ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await relay.LineAsync(l => l.StartsWith($"CONNECTED {nodePeer}", StringComparison.Ordinal));

        await testbed.CutAsync("ra", "wan0");
        var cut = Stopwatch.StartNew();
        await node.LineAsync(l => l.StartsWith("DISCONNECTED ", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        await relay.LineAsync(l => l.StartsWith($"DISCONNECTED {nodePeer}", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        var found = cut.Elapsed;

        await testbed.HealAsync("ra", "wan0");
        var back = await node.LineAsync(l => l.StartsWith("RESERVED ", StringComparison.Ordinal), TimeSpan.FromSeconds(90));

        Assert.True(found < TimeSpan.FromSeconds(15), $"the cut was found after {found}");
        Assert.Contains($"/p2p-circuit/p2p/{nodePeer}", back, StringComparison.Ordinal);
        await relay.LineAsync(l => l.StartsWith($"CONNECTED {nodePeer}", StringComparison.Ordinal));
    }
}
