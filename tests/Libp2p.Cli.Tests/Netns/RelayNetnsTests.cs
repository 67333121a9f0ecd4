using System.Text.Json;

namespace Libp2p.Cli.Tests.Netns;

/// <summary>
/// Two of our nodes behind two NATs reach each other through our relay, as separate <c>p2p</c>
/// processes in the testbed; the relayed connection is limited, so a stream that does not opt in is refused.
/// </summary>
[Trait("Category", "Netns")]
public sealed class RelayNetnsTests(NetnsTestbed testbed) : IClassFixture<NetnsTestbed>
{
    [NetnsFact]
    public async Task A_node_behind_a_NAT_must_be_pinged_through_our_relay_by_a_node_behind_another_NAT_and_refuse_a_stream_that_did_not_opt_in()
    {
        await using var relay = P2pProcess.StartIn(testbed.Namespace("relay"), "listen", "--relay", "--listen", $"/ip4/{testbed.Vars["RELAY_ADDR"]}/tcp/4001");
        var relayAddress = (await relay.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        await using var listener = P2pProcess.StartIn(testbed.Namespace("a"), "listen", "--listen", "/ip4/0.0.0.0/tcp/4001", "--reserve", relayAddress);
        var direct = (await listener.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        var relayed = (await listener.LineAsync(l => l.StartsWith("RESERVED ", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Split(' ')[1];
        Assert.Contains("/p2p-circuit/p2p/", relayed, StringComparison.Ordinal);

        // The NAT keeps b from a's own address; the relay gets it through.
        var blocked = await P2pProcess.RunInAsync(testbed.Namespace("b"), "ping", direct, "--count", "1", "--timeout", "5");
        var pinged = await P2pProcess.RunInAsync(testbed.Namespace("b"), "ping", relayed, "--count", "3", "--json");

        // Echo does not opt in to limited connections: the relayed one refuses its stream.
        var echo = await P2pProcess.RunInAsync(testbed.Namespace("b"), "echo", relayed, "--bytes", "1024", "--timeout", "10");

        Assert.NotEqual(0, blocked.ExitCode);
        Assert.Equal(1, echo.ExitCode);
        Assert.Contains("transient connection to peer", string.Join('\n', echo.Output.Concat(echo.Error)), StringComparison.Ordinal);
        Assert.True(pinged.ExitCode == 0, $"exit {pinged.ExitCode}: {string.Join('\n', pinged.Output.Concat(pinged.Error))}");
        var rtts = pinged.Output.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("event").GetString() == "ping").ToList();
        Assert.Equal(3, rtts.Count);
    }
}
