namespace Libp2p.Cli.Tests.Netns;

/// <summary>
/// Periodic AutoNAT v2 on the testbed, as separate <c>p2p</c> processes: the relay and a node behind
/// a NAT both serve AutoNAT and ask each other. The relay's dial-back to the node's observed
/// address is dropped by the node's NAT, so the node is Private; the node's dial-back to the relay
/// gets through, so the relay is Public.
/// </summary>
[Trait("Category", "Netns")]
public sealed class ReachabilityNetnsTests(NetnsTestbed testbed) : IClassFixture<NetnsTestbed>, IDisposable
{
    // One server each in the testbed: its answer alone decides. Two observers (a's and b's routers) judge the NAT type.
    // Debug logs go to standard output with the tool's lines (a few dozen): a verdict that never
    // comes then fails with the prober's account of its rounds in the message.
    private readonly string _config = WriteConfig("""
        akka.libp2p.autonat {
          service = on
          reachability-window = 1
          reachability-threshold = 1
          nat-type-min-observers = 2
        }
        akka.loglevel = DEBUG
        akka.stdout-loglevel = INFO
        """);

    private static string WriteConfig(string hocon)
    {
        var path = Path.Combine(Path.GetTempPath(), $"l2p-reachability-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, hocon);
        return path;
    }

    public void Dispose() => File.Delete(_config);

    /// <summary>a's router's WAN address in testbed.sh's topology: the relay sees a's connections come from it.</summary>
    private const string RouterWan = "198.18.0.1";

    [NetnsFact]
    public async Task A_node_behind_a_NAT_must_become_Private_and_the_relay_Public_with_a_cone_mapping()
    {
        await using var relay = P2pProcess.StartIn(testbed.Namespace("relay"), "listen", "--relay", "--config", _config, "--listen", $"/ip4/{testbed.Vars["RELAY_ADDR"]}/tcp/4001");
        var relayAddress = (await relay.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        await using var node = P2pProcess.StartIn(testbed.Namespace("a"), "listen", "--config", _config, "--listen", "/ip4/0.0.0.0/tcp/4001", "--reserve", relayAddress);

        // The relay's check of a dials a's NAT at the observed IP, which drops it: a dial-back timeout
        // (10 s) later, a is Private. 150 s leaves room for one failed check on a loaded machine (its
        // 30 s deadline, the server's 1 min backoff, then the check again).
        var nodeVerdict = node.LineAsync(l => l.StartsWith("REACHABILITY ", StringComparison.Ordinal), TimeSpan.FromSeconds(150));
        var relayVerdict = relay.LineAsync(l => l.StartsWith("REACHABILITY ", StringComparison.Ordinal), TimeSpan.FromSeconds(150));

        Assert.Equal("REACHABILITY Public", await relayVerdict);
        Assert.Equal("REACHABILITY Private", await nodeVerdict);
        // What was checked: the relay at its own address; a at its router's WAN address with a's listen
        // port (a's connection to the relay left from another port, so only the IP was observed).
        // Each result's line and the verdict it led to are printed in either order.
        await relay.SeenOrNextLineAsync(l => l.StartsWith($"AUTONAT OK /ip4/{testbed.Vars["RELAY_ADDR"]}/tcp/4001 by ", StringComparison.Ordinal));
        await node.SeenOrNextLineAsync(l => l.StartsWith($"AUTONAT E_DIAL_ERROR /ip4/{RouterWan}/tcp/4001 by ", StringComparison.Ordinal));

        // b connects too: a's and b's routers (two observer groups) both see the relay at its listen
        // address, one ip:port for everyone, which is what an endpoint-independent mapping (a cone) looks like.
        var pinged = await P2pProcess.RunInAsync(testbed.Namespace("b"), "ping", relayAddress, "--count", "3");
        Assert.True(pinged.ExitCode == 0, string.Join('\n', pinged.Output.Concat(pinged.Error)));
        Assert.Equal("NAT TCP Cone", await relay.LineAsync(l => l.StartsWith("NAT TCP ", StringComparison.Ordinal), TimeSpan.FromSeconds(30)));
    }
}
