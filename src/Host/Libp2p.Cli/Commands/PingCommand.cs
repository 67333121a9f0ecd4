namespace Libp2p.Cli.Commands;

/// <summary>
/// <c>p2p ping MULTIADDR [--count N] [--timeout SECONDS] [--listen MULTIADDR…] [--await-direct SECONDS]</c>:
/// round-trip times over <c>/ipfs/ping/1.0.0</c>; with --await-direct, then the direct connection hole
/// punching makes out of a relayed one (DIRECT line).
/// </summary>
internal static class PingCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output)
    {
        var count = line.LongOption("count", 5);
        if (count is < 1 or > 100_000)
            throw new UsageException("invalid-value", "--count takes a number from 1 to 100000");
        var timeout = Node.Timeout(line);
        var (address, _) = Node.ParseTarget(line);
        var listen = line.Options("listen").Select(Node.ParseAddress).ToArray();
        var awaitDirect = line.Option("await-direct") is null ? (TimeSpan?)null : TimeSpan.FromSeconds(line.LongOption("await-direct", 30));
        if (awaitDirect is { TotalSeconds: < 1 or > 3600 })
            throw new UsageException("invalid-value", "--await-direct takes seconds from 1 to 3600");

        return await Node.DialAsync(line, address, timeout, async (host, peer) =>
        {
            var times = await Node.AttemptAsync($"ping {peer}", host.PingAsync(peer, (int)count).WaitAsync(timeout)).ConfigureAwait(false);
            for (var i = 0; i < times.Count; i++)
            {
                if (line.Json)
                    Output.Json(output, new Dictionary<string, object?> { ["event"] = "ping", ["peer"] = peer.ToString(), ["seq"] = i + 1, ["rttMs"] = Output.JsonMs(times[i]) });
                else
                    output.WriteLine($"ping {peer} seq={i + 1} rtt={Output.Ms(times[i])}");
            }
            var (min, avg, max) = (times.Min(), TimeSpan.FromTicks((long)times.Average(t => t.Ticks)), times.Max());
            if (line.Json)
            {
                Output.Json(output, new Dictionary<string, object?>
                {
                    ["event"] = "summary", ["peer"] = peer.ToString(), ["count"] = times.Count,
                    ["minMs"] = Output.JsonMs(min), ["avgMs"] = Output.JsonMs(avg), ["maxMs"] = Output.JsonMs(max),
                });
            }
            else
            {
                output.WriteLine($"{times.Count} pings: min {Output.Ms(min)}, avg {Output.Ms(avg)}, max {Output.Ms(max)}");
            }
            if (awaitDirect is { } wait)
                await AwaitDirectAsync(host, peer, wait, line.Json, output).ConfigureAwait(false);
            return 0;
        }, listen).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for a direct connection to <paramref name="peer"/> (the peer hole-punches when it got our
    /// connection through a relay), then echoes over it: echo refuses a limited connection, so its
    /// answer shows the stream went direct.
    /// </summary>
    private static async Task AwaitDirectAsync(Libp2p.Host.Libp2pHost host, Libp2p.Protocols.Peer.PeerId peer, TimeSpan wait, bool json, TextWriter output)
    {
        Libp2p.Actors.Network.ConnectionInfo direct;
        try
        {
            direct = await NodeEvents.DirectConnectionAsync(host, peer).WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new CommandFailedException($"no direct connection to {peer} within {wait.TotalSeconds:0} s", code: "timeout");
        }
        var rtt = await Node.AttemptAsync($"echo {peer} over the direct connection", host.EchoAsync(peer, new byte[64])).ConfigureAwait(false);
        if (json)
            Output.Json(output, new Dictionary<string, object?> { ["event"] = "direct", ["peer"] = peer.ToString(), ["address"] = direct.RemoteAddress.ToString(), ["echoRttMs"] = Output.JsonMs(rtt) });
        else
            output.WriteLine($"DIRECT {peer} {direct.RemoteAddress} echo rtt={Output.Ms(rtt)}");
    }
}
