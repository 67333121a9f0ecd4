namespace Libp2p.Cli.Tests;

/// <summary><c>p2p listen --listen …/ws</c>: the WebSocket transport from the command line, as a process.</summary>
public sealed class WebSocketListenTests
{
    [Fact]
    public async Task P2p_listen_on_ws_must_print_a_ws_address_that_p2p_ping_reaches()
    {
        await using var listener = P2pProcess.Start("listen", "--listen", "/ip4/127.0.0.1/tcp/0/ws");
        var address = (await listener.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        Assert.Matches("^/ip4/127.0.0.1/tcp/[0-9]+/ws/p2p/12D3KooW[1-9A-HJ-NP-Za-km-z]+$", address);

        var ping = await P2pProcess.RunAsync("ping", address, "--count", "1");

        Assert.True(ping.ExitCode == 0, string.Join('\n', ping.Error));
        await listener.LineAsync(l => l.StartsWith("CONNECTED ", StringComparison.Ordinal) && l.Contains("/ws ", StringComparison.Ordinal) && l.EndsWith(" inbound", StringComparison.Ordinal));
        Assert.Equal(0, (await listener.TerminateAsync()).ExitCode);
    }
}
