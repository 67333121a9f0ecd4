using System.Text.Json;

namespace Libp2p.Cli.Tests.Netns;

/// <summary>Our nodes as separate <c>p2p</c> processes in the testbed's namespaces, through its NAT, under faults.</summary>
[Trait("Category", "Netns")]
public sealed class FaultTests(NetnsTestbed testbed) : IClassFixture<NetnsTestbed>
{
    [NetnsFact]
    public async Task A_64_MiB_echo_through_a_NAT_must_come_back_unchanged_under_delay_and_1_percent_loss()
    {
        var relayAddress = testbed.Vars["RELAY_ADDR"];
        await using var server = P2pProcess.StartIn(testbed.Namespace("relay"), "listen", "--listen", $"/ip4/{relayAddress}/tcp/4001");
        var line = await server.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal));
        var address = line["LISTEN ".Length..];
        // Both ways: what host a sends leaves its router's WAN side, what comes back leaves the relay's link.
        var there = await testbed.FaultAsync("ra", "wan0", 20, 1);
        var back = await testbed.FaultAsync("relay", "eth0", 20, 1);
        Assert.Contains("loss 1%", there, StringComparison.Ordinal);
        Assert.Contains("loss 1%", back, StringComparison.Ordinal);

        var result = await P2pProcess.RunInAsync(testbed.Namespace("a"), "echo", address, "--bytes", "64MiB", "--timeout", "110", "--json");

        Assert.True(result.ExitCode == 0, $"{there}; {back}; exit {result.ExitCode}: {string.Join('\n', result.Output.Concat(result.Error))}");
        using var json = JsonDocument.Parse(result.Output.Single(l => l.StartsWith('{')));
        Assert.Equal(64L * 1024 * 1024, json.RootElement.GetProperty("bytes").GetInt64());
        // The loss was real: packets were dropped both ways, and TCP and the muxer got every byte through anyway.
        Assert.True(await testbed.DropsAsync("ra", "wan0") > 0, "no packet from a was dropped");
        Assert.True(await testbed.DropsAsync("relay", "eth0") > 0, "no packet to a was dropped");
    }
}
