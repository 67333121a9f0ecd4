namespace Libp2p.Cli.Commands;

/// <summary><c>p2p ping MULTIADDR [--count N] [--timeout SECONDS]</c>: round-trip times over <c>/ipfs/ping/1.0.0</c>.</summary>
internal static class PingCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output)
    {
        var count = line.LongOption("count", 5);
        if (count is < 1 or > 100_000)
            throw new UsageException("invalid-value", "--count takes a number from 1 to 100000");
        var timeout = Node.Timeout(line);
        var (address, _) = Node.ParseTarget(line);

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
            return 0;
        }).ConfigureAwait(false);
    }
}
