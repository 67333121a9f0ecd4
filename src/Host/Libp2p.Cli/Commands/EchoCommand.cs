using System.Security.Cryptography;

namespace Libp2p.Cli.Commands;

/// <summary><c>p2p echo MULTIADDR [--bytes N] [--timeout SECONDS]</c>: random bytes through <c>/echo/1.0.0</c>, checked on return.</summary>
internal static class EchoCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output)
    {
        var bytes = line.SizeOption("bytes", 1 << 20);
        if (bytes > Array.MaxLength)
            throw new UsageException("invalid-value", $"--bytes takes at most {Array.MaxLength}");
        var timeout = Node.Timeout(line);
        var (address, _) = Node.ParseTarget(line);

        return await Node.DialAsync(line, address, timeout, async (host, peer) =>
        {
            var payload = RandomNumberGenerator.GetBytes((int)bytes);
            var elapsed = await Node.AttemptAsync($"echo {peer}", host.EchoAsync(peer, payload).WaitAsync(timeout)).ConfigureAwait(false);
            if (line.Json)
                Output.Json(output, new Dictionary<string, object?> { ["event"] = "echo", ["peer"] = peer.ToString(), ["bytes"] = bytes, ["ms"] = Output.JsonMs(elapsed) });
            else
                output.WriteLine($"echo {peer}: {bytes} bytes ({Output.Size(bytes)}) came back unchanged in {Output.Ms(elapsed)}");
            return 0;
        }).ConfigureAwait(false);
    }
}
