namespace Libp2p.Cli.Tests.Netns;

/// <summary>Two of our nodes behind two NATs meet through our relay and hole-punch (DCUtR) a direct connection, as <c>p2p</c> processes in the testbed.</summary>
[Trait("Category", "Netns")]
public sealed class HolePunchNetnsTests(NetnsTestbed testbed) : IClassFixture<NetnsTestbed>
{
    [NetnsFact]
    public async Task Nodes_behind_two_NATs_must_replace_their_relayed_connection_by_a_hole_punched_direct_one()
    {
        await using var relay = P2pProcess.StartIn(testbed.Namespace("relay"), "listen", "--relay", "--listen", $"/ip4/{testbed.Vars["RELAY_ADDR"]}/tcp/4001");
        var relayAddress = (await relay.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        // Listening on a fixed port: with port reuse every dial leaves from it, so the NAT maps it
        // there and the relay observes the port the hole is punched to.
        await using var a = P2pProcess.StartIn(testbed.Namespace("a"), "listen", "--listen", "/ip4/0.0.0.0/tcp/4001", "--reserve", relayAddress);
        var relayed = (await a.LineAsync(l => l.StartsWith("RESERVED ", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Split(' ')[1];

        // b reaches a through the relay; a, which received the relayed connection, punches.
        var b = await P2pProcess.RunInAsync(testbed.Namespace("b"), "ping", relayed, "--count", "1", "--listen", "/ip4/0.0.0.0/tcp/4001", "--await-direct", "60");
        var punched = await a.LineAsync(l => l.StartsWith("HOLEPUNCH ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.True(b.ExitCode == 0, $"exit {b.ExitCode}: {string.Join('\n', b.Output.Concat(b.Error))}\na: {string.Join(" | ", a.Seen)}");
        // The direct connection runs between the two NATs' public addresses, at the listen ports.
        Assert.Matches(@"^HOLEPUNCH 12D3KooW\w+ direct /ip4/198\.18\.0\.2/tcp/4001 attempts=[123] ", punched);
        var direct = Assert.Single(b.Output, l => l.StartsWith("DIRECT ", StringComparison.Ordinal));
        Assert.Contains(" /ip4/198.18.0.1/tcp/4001 echo rtt=", direct, StringComparison.Ordinal);
        // The relayed connection was closed once replaced (its line may come before HOLEPUNCH or after).
        static bool RelayedGone(string l) => l.StartsWith("DISCONNECTED ", StringComparison.Ordinal) && l.Contains("/p2p-circuit", StringComparison.Ordinal);
        if (!a.Seen.Any(RelayedGone))
            await a.LineAsync(RelayedGone, TimeSpan.FromSeconds(30));
    }

    [NetnsFact]
    public async Task A_node_behind_a_NAT_must_dial_a_public_peer_that_reached_it_through_the_relay_directly()
    {
        var relayAddr = testbed.Vars["RELAY_ADDR"];
        await using var relay = P2pProcess.StartIn(testbed.Namespace("relay"), "listen", "--relay", "--listen", $"/ip4/{relayAddr}/tcp/4001");
        var relayAddress = (await relay.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        await using var a = P2pProcess.StartIn(testbed.Namespace("a"), "listen", "--listen", "/ip4/0.0.0.0/tcp/4001", "--reserve", relayAddress);
        var relayed = (await a.LineAsync(l => l.StartsWith("RESERVED ", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Split(' ')[1];

        // A peer on the public side, advertising its public address: a dials it as it is (the
        // spec's unilateral upgrade), no CONNECT needed (attempts=0).
        var peer = await P2pProcess.RunInAsync(testbed.Namespace("relay"), "ping", relayed, "--count", "1", "--listen", $"/ip4/{relayAddr}/tcp/4002", "--await-direct", "60");
        var punched = await a.LineAsync(l => l.StartsWith("HOLEPUNCH ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.True(peer.ExitCode == 0, $"exit {peer.ExitCode}: {string.Join('\n', peer.Output.Concat(peer.Error))}\na: {string.Join(" | ", a.Seen)}");
        Assert.Matches($@"^HOLEPUNCH 12D3KooW\w+ direct /ip4/{relayAddr.Replace(".", "\\.", StringComparison.Ordinal)}/tcp/4002 attempts=0 ", punched);
        Assert.Contains(" /ip4/198.18.0.1/tcp/4001 echo rtt=", Assert.Single(peer.Output, l => l.StartsWith("DIRECT ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }
}
