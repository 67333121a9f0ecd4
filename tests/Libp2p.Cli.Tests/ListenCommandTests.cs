namespace Libp2p.Cli.Tests;

public sealed class ListenCommandTests
{
    [Fact]
    public async Task P2p_listen_must_print_its_events_and_stop_cleanly_on_SIGTERM()
    {
        await using var listener = P2pProcess.Start("listen", "--listen", "/ip4/127.0.0.1/tcp/0");
        var address = (await listener.LineAsync(l => l.StartsWith("LISTEN ", StringComparison.Ordinal)))["LISTEN ".Length..];
        Assert.Matches("^/ip4/127.0.0.1/tcp/[0-9]+/p2p/12D3KooW[1-9A-HJ-NP-Za-km-z]+$", address);

        var ping = await P2pProcess.RunAsync("ping", address, "--count", "1");
        Assert.True(ping.ExitCode == 0, string.Join('\n', ping.Error));
        await listener.LineAsync(l => l.StartsWith("CONNECTED ", StringComparison.Ordinal) && l.EndsWith(" inbound", StringComparison.Ordinal));
        await listener.LineAsync(l => l.StartsWith("DISCONNECTED ", StringComparison.Ordinal));

        var result = await listener.TerminateAsync();

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("STOPPED on SIGTERM", result.Output[^1]);
        Assert.Empty(result.Error);
    }

    [Fact]
    public async Task P2p_top_once_must_show_the_scopes_of_its_own_node()
    {
        var result = await P2pProcess.RunAsync("top", "--once", "--listen", "/ip4/127.0.0.1/tcp/0", "--json");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        using var json = System.Text.Json.JsonDocument.Parse(Assert.Single(result.Output));
        var scopes = json.RootElement.GetProperty("scopes");
        Assert.Equal("system", scopes[0].GetProperty("scope").GetString());
        Assert.True(scopes[0].GetProperty("limit").GetProperty("connsInbound").GetInt32() > 0);
        // The node's own connection manager and gater, from the reference configuration.
        Assert.Equal(128, json.RootElement.GetProperty("connectionManager").GetProperty("highWater").GetInt32());
        Assert.Empty(json.RootElement.GetProperty("gaterRefused").EnumerateObject());
    }

    [Theory]
    [InlineData(new[] { "ping", "/ip4/127.0.0.1/tcpx/1/p2p/12D3KooWBHsj18cLY8xY6dfLd34vBnihSztYKsMbDKdQiNYreb1G" }, "'/ip4/127.0.0.1/tcpx/1/p2p/12D3KooWBHsj18cLY8xY6dfLd34vBnihSztYKsMbDKdQiNYreb1G' is not a multiaddr")]
    [InlineData(new[] { "echo", "/ip4/127.0.0.1/tcp/4001" }, "'/ip4/127.0.0.1/tcp/4001' does not end in /p2p/<peer id>")]
    [InlineData(new[] { "perf" }, "'perf' takes one multiaddr ending in /p2p/<peer id>")]
    [InlineData(new[] { "ping", "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBHsj18cLY8xY6dfLd34vBnihSztYKsMbDKdQiNYreb1G", "--count", "0" }, "--count takes a number from 1 to 100000")]
    [InlineData(new[] { "echo", "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBHsj18cLY8xY6dfLd34vBnihSztYKsMbDKdQiNYreb1G", "--bytes", "lots" }, "--bytes takes a number of bytes")]
    [InlineData(new[] { "top", "--connect", "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBHsj18cLY8xY6dfLd34vBnihSztYKsMbDKdQiNYreb1G", "--key", "x" }, "--key is for top's own node, and with --connect it runs none")]
    [InlineData(new[] { "demo", "--nodes", "1" }, "--nodes takes a number from 2 to 64")]
    public async Task P2p_must_reject_a_wrong_address_or_option_with_exit_code_2(string[] args, string reason)
    {
        var error = new StringWriter();

        var exit = await Cli.RunAsync(args, TextWriter.Null, error);

        Assert.Equal(2, exit);
        Assert.StartsWith($"p2p: {reason}", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task P2p_ping_must_exit_2_on_a_malformed_multiaddr_as_a_process()
    {
        var result = await P2pProcess.RunAsync("ping", "not-an-address");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("p2p: 'not-an-address' is not a multiaddr", result.Error[0], StringComparison.Ordinal);
    }
}
