using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Libp2p.Protocols.Crypto;

namespace Libp2p.Cli.Tests;

/// <summary>
/// Each wrong input a newcomer makes, run as a process: one line on standard error that names the
/// real cause, the exit code (2 misused, 1 failed), and under --json one JSON object with a stable code.
/// </summary>
public sealed class WrongInputTests : IDisposable
{
    private static readonly string Peer = NewPeer();
    private static readonly string Address = $"/ip4/127.0.0.1/tcp/4001/p2p/{Peer}";
    private readonly string _folder = Directory.CreateTempSubdirectory("p2p-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string[], string, string> UsageErrors => new()
    {
        { ["ping", Address, "-c", "2"], "unknown-option", "unknown option '-c' for 'ping'; see 'p2p ping --help'" },
        { ["ping", "-c", "2", Address], "unknown-option", "unknown option '-c' for 'ping'; see 'p2p ping --help'" },
        { ["perf", Address, "--size", "1MiB"], "unknown-option", "unknown option '--size' for 'perf'; see 'p2p perf --help'" },
        { ["--frob"], "unknown-option", "unknown option '--frob'; see 'p2p --help'" },
        { ["fly"], "unknown-command", "unknown command 'fly'; the commands are demo, listen, ping, echo, perf, identify, top, id, help" },
        { ["help", "fly"], "unknown-command", "unknown command 'fly'; the commands are demo, listen, ping, echo, perf, identify, top, id, help" },
        { ["ping"], "missing-argument", "'ping' takes one multiaddr ending in /p2p/<peer id>; see 'p2p ping --help'" },
        { ["ping", Address, "--count"], "missing-value", "option --count needs a value; see 'p2p ping --help'" },
        { ["ping", Address, "--count", "-1"], "invalid-value", "--count takes a number from 1 to 100000" },
        { ["ping", Address, "--count", "0"], "invalid-value", "--count takes a number from 1 to 100000" },
        { ["ping", Address, "--count", "many"], "invalid-value", "--count takes a whole number, not 'many'" },
        { ["ping", Peer], "invalid-address", $"'{Peer}' is a peer ID, not an address: this tool does not look peers up; give the address the peer listens on, ending in /p2p/{Peer}, as 'p2p listen' prints it" },
        { ["ping", "/ip4/127.0.0.1/tcp/4001"], "invalid-address", "'/ip4/127.0.0.1/tcp/4001' does not end in /p2p/<peer id>, so the peer to expect is unknown" },
        { ["listen", "--config", "/nope.conf"], "no-such-file", "--config /nope.conf: no such file" },
        { ["ping", Address, "--config", "/nope.conf"], "no-such-file", "--config /nope.conf: no such file" },
        { ["echo", Address, "--config", "/nope.conf"], "no-such-file", "--config /nope.conf: no such file" },
        { ["perf", Address, "--config", "/nope.conf"], "no-such-file", "--config /nope.conf: no such file" },
        { ["identify", Address, "--config", "/nope.conf"], "no-such-file", "--config /nope.conf: no such file" },
        { ["top", "--config", "/nope.conf"], "no-such-file", "--config /nope.conf: no such file" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task A_wrong_command_line_must_fail_with_one_line_naming_the_cause_and_exit_2(string[] args, string code, string message)
    {
        var result = await P2pProcess.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Equal($"p2p: {message}", Assert.Single(result.Error));
        await AssertJsonErrorAsync(args, 2, code, message);
    }

    [Fact]
    public async Task An_address_no_transport_dials_must_say_so()
    {
        var address = $"/ip4/127.0.0.1/udp/4001/quic-v1/p2p/{Peer}";

        var result = await P2pProcess.RunAsync("ping", address, "--timeout", "5");

        Assert.Equal(1, result.ExitCode);
        var message = $"cannot connect to {address}: no transport for /ip4/127.0.0.1/udp/4001/quic-v1";
        Assert.Equal($"p2p: {message}", Assert.Single(result.Error));
        await AssertJsonErrorAsync(["ping", address, "--timeout", "5"], 1, "no-transport", message);
    }

    [Fact]
    public async Task A_refused_connection_and_one_nothing_answers_must_be_told_apart()
    {
        int closed;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closed = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        // Accepts (the kernel does) and never says a word: the handshake never completes.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var refusedAddress = $"/ip4/127.0.0.1/tcp/{closed}/p2p/{Peer}";
        var silentAddress = $"/ip4/127.0.0.1/tcp/{((IPEndPoint)silent.LocalEndpoint).Port}/p2p/{Peer}";

        var refused = await P2pProcess.RunAsync("ping", refusedAddress, "--timeout", "2", "--json");
        var silence = await P2pProcess.RunAsync("ping", silentAddress, "--timeout", "2", "--json");

        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(1, silence.ExitCode);
        using var refusedJson = JsonDocument.Parse(Assert.Single(refused.Error));
        using var silenceJson = JsonDocument.Parse(Assert.Single(silence.Error));
        Assert.Equal("connection-refused", refusedJson.RootElement.GetProperty("error").GetString());
        Assert.Equal($"cannot connect to {refusedAddress}: connection refused (nothing listens there)", refusedJson.RootElement.GetProperty("message").GetString());
        Assert.Equal("timeout", silenceJson.RootElement.GetProperty("error").GetString());
        var silenceMessage = silenceJson.RootElement.GetProperty("message").GetString()!;
        Assert.StartsWith($"cannot connect to {silentAddress}: no answer", silenceMessage, StringComparison.Ordinal);
        Assert.Contains("2 s", silenceMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("refused", silenceMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handshake_that_never_completes_must_say_no_answer_with_the_deadline_of_the_config_file()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var address = $"/ip4/127.0.0.1/tcp/{((IPEndPoint)silent.LocalEndpoint).Port}/p2p/{Peer}";
        var config = Path.Combine(_folder, "quick.conf");
        await File.WriteAllTextAsync(config, "akka.libp2p.connection.upgrade-timeout = 1s");

        var result = await P2pProcess.RunAsync("ping", address, "--config", config, "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(Assert.Single(result.Error));
        Assert.Equal("timeout", json.RootElement.GetProperty("error").GetString());
        Assert.Equal($"cannot connect to {address}: no answer: the connection upgrade did not complete within 1 s", json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_port_in_use_must_say_address_already_in_use()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var address = $"/ip4/127.0.0.1/tcp/{((IPEndPoint)taken.LocalEndpoint).Port}";

        var result = await P2pProcess.RunAsync("listen", "--listen", address);

        Assert.Equal(1, result.ExitCode);
        var message = $"cannot listen on {address}: address already in use (another process listens there)";
        Assert.Equal($"p2p: {message}", Assert.Single(result.Error));
        await AssertJsonErrorAsync(["listen", "--listen", address], 1, "address-in-use", message);
    }

    [Fact]
    public async Task A_key_of_another_type_must_be_named_with_the_right_article()
    {
        var path = Path.Combine(_folder, "node.key");
        using (var key = PrivateKey.Generate(KeyType.Ed25519))
            await File.WriteAllBytesAsync(path, key.ToProtobuf());

        var result = await P2pProcess.RunAsync("id", "--key", path, "--type", "rsa");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"p2p: {path} holds an Ed25519 key, not RSA; name another --key file", Assert.Single(result.Error));
    }

    [Fact]
    public async Task A_config_file_must_be_read_by_a_command_that_dials()
    {
        // A wrong value in the file is found before anything is dialed.
        var path = Path.Combine(_folder, "bad.conf");
        await File.WriteAllTextAsync(path, "akka.libp2p.muxers = [\"/nope/1.0.0\"]");

        var result = await P2pProcess.RunAsync("ping", Address, "--config", path);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("p2p: configuration: ", Assert.Single(result.Error), StringComparison.Ordinal);
    }

    /// <summary>The same command with --json: one JSON object on standard error with the code and message.</summary>
    private static async Task AssertJsonErrorAsync(string[] args, int exitCode, string code, string message)
    {
        // Right after the command: an option left without its value would take a --json after it.
        var result = await P2pProcess.RunAsync(args.Length > 0 && !args[0].StartsWith('-') ? [args[0], "--json", .. args[1..]] : ["--json", .. args]);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Empty(result.Output);
        using var json = JsonDocument.Parse(Assert.Single(result.Error));
        Assert.Equal(code, json.RootElement.GetProperty("error").GetString());
        Assert.Equal(message, json.RootElement.GetProperty("message").GetString());
        Assert.Equal(exitCode, json.RootElement.GetProperty("exitCode").GetInt32());
    }

    private static string NewPeer()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return Libp2p.Protocols.Peer.PeerId.FromPublicKey(key.PublicKey).ToString();
    }
}
