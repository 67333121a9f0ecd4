using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Tests;

public sealed class ClientCommandTests(ListenerFixture listener) : IClassFixture<ListenerFixture>
{
    private string PeerId => listener.Address[(listener.Address.LastIndexOf('/') + 1)..];

    [Fact]
    public async Task P2p_ping_must_print_each_round_trip_and_a_summary()
    {
        var result = await P2pProcess.RunAsync("ping", listener.Address, "--count", "3");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        Assert.Equal(4, result.Output.Length);
        Assert.StartsWith($"ping {PeerId} seq=1 rtt=", result.Output[0], StringComparison.Ordinal);
        Assert.StartsWith("3 pings: min ", result.Output[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task P2p_echo_must_get_its_bytes_back()
    {
        var result = await P2pProcess.RunAsync("echo", listener.Address, "--bytes", "256KiB", "--json");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        using var json = JsonDocument.Parse(Assert.Single(result.Output));
        Assert.Equal("echo", json.RootElement.GetProperty("event").GetString());
        Assert.Equal(256 * 1024, json.RootElement.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task P2p_perf_must_report_the_throughput_each_way()
    {
        var result = await P2pProcess.RunAsync("perf", listener.Address, "--upload", "1048576", "--download", "1048576");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        Assert.Equal($"perf {PeerId}", result.Output[0]);
        Assert.StartsWith("upload: 1 MiB in ", result.Output[1], StringComparison.Ordinal);
        Assert.StartsWith("download: 1 MiB in ", result.Output[2], StringComparison.Ordinal);
        Assert.Contains("Mbit/s", result.Output[2], StringComparison.Ordinal);
        // Standard error is redirected here, so no progress bar is drawn on it.
        Assert.Empty(result.Error);
    }

    [Fact]
    public async Task P2p_identify_must_print_what_the_listener_says_about_itself()
    {
        var result = await P2pProcess.RunAsync("identify", listener.Address);

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        Assert.Equal($"peer id: {PeerId}", result.Output[0]);
        Assert.StartsWith("agent version: libp2p-dotnet/", result.Output[1], StringComparison.Ordinal);
        Assert.Equal("protocol version: ipfs/0.1.0", result.Output[2]);
        Assert.Contains("/ipfs/ping/1.0.0", result.Output[3], StringComparison.Ordinal);
        Assert.Contains("/libp2p-dotnet/resources/1.0.0", result.Output[3], StringComparison.Ordinal);
        Assert.Contains(result.Output, l => l.StartsWith("observed address: /ip4/127.0.0.1/tcp/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task P2p_top_must_show_the_scopes_of_a_node_that_serves_them()
    {
        var result = await P2pProcess.RunAsync("top", "--connect", listener.Address, "--once");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        Assert.StartsWith($"resources of {PeerId[..8]}…{PeerId[^4..]} at ", result.Output[0], StringComparison.Ordinal);
        Assert.All(result.Output, l => Assert.True(l.Length < 80, $"wider than 80 columns: {l}"));
        Assert.StartsWith("SCOPE", result.Output[1], StringComparison.Ordinal);
        Assert.StartsWith("system ", result.Output[2], StringComparison.Ordinal);
        Assert.Contains(result.Output, l => l.StartsWith("transient ", StringComparison.Ordinal));
        // top's own connection is in the listener's figures.
        Assert.Contains(result.Output, l => l.StartsWith("peer:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task P2p_ping_must_fail_with_one_line_when_nothing_listens()
    {
        var address = $"/ip4/127.0.0.1/tcp/{ClosedPort()}/p2p/{PeerId}";

        var result = await P2pProcess.RunAsync("ping", address, "--timeout", "10");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"p2p: cannot connect to {address}: connection refused (nothing listens there)", Assert.Single(result.Error));
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task P2p_ping_must_fail_with_one_line_when_another_peer_answers()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var other = Libp2p.Protocols.Peer.PeerId.FromPublicKey(key.PublicKey);
        var address = listener.Address.Replace(PeerId, other.ToString(), StringComparison.Ordinal);

        var result = await P2pProcess.RunAsync("ping", address);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error);
        Assert.StartsWith($"p2p: cannot connect to {address}: peer ID mismatch: ", line, StringComparison.Ordinal);
        Assert.Contains($"dialed {other} but the remote is {PeerId}", line, StringComparison.Ordinal);
    }

    private static int ClosedPort()
    {
        // A port that was free a moment ago: nothing listens on it now.
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
