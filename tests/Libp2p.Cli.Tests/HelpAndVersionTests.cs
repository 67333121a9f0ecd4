using System.Text.Json;

namespace Libp2p.Cli.Tests;

/// <summary>What a newcomer types first: help for each command, the version, and the tool alone.</summary>
public sealed class HelpAndVersionTests
{
    public static TheoryData<string> Commands => new() { "demo", "listen", "ping", "echo", "perf", "identify", "top", "id" };

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Each_command_must_have_its_own_help_with_examples(string command)
    {
        var result = await P2pProcess.RunAsync(command, "--help");

        Assert.True(result.ExitCode == 0, string.Join('\n', result.Error));
        Assert.Empty(result.Error);
        var usage = Array.IndexOf(result.Output, "Usage:");
        Assert.True(usage >= 0, string.Join('\n', result.Output));
        Assert.StartsWith($"p2p {command}", result.Output[usage + 1], StringComparison.Ordinal);
        Assert.Contains("--json", result.Output.Where(l => l.StartsWith("--", StringComparison.Ordinal)).Select(l => l.Split(' ')[0]));
        var examples = Array.IndexOf(result.Output, "Examples:");
        Assert.True(examples > usage, "no examples");
        var lines = result.Output[(examples + 1)..].TakeWhile(l => !l.StartsWith("where ADDR ", StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length >= 2, "fewer than two examples");
        Assert.All(lines, l => Assert.StartsWith($"p2p {command}", l, StringComparison.Ordinal));
        // Help is read in an 80-column terminal too.
        Assert.All(result.Output, l => Assert.True(l.Length < 80, $"wider than 80 columns: {l}"));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Dash_h_and_help_command_must_print_the_same_help_as_dash_dash_help(string command)
    {
        var help = await P2pProcess.RunAsync(command, "--help");
        var h = await P2pProcess.RunAsync(command, "-h");
        var helpCommand = await P2pProcess.RunAsync("help", command);

        Assert.Equal(0, h.ExitCode);
        Assert.Equal(0, helpCommand.ExitCode);
        Assert.Equal(help.Output, h.Output);
        Assert.Equal(help.Output, helpCommand.Output);
    }

    [Fact]
    public async Task The_global_help_must_list_every_command_and_point_to_their_help()
    {
        var result = await P2pProcess.RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var command in Commands)
            Assert.Contains(result.Output, l => l.StartsWith(command + " ", StringComparison.Ordinal) || l == command);
        Assert.Contains(result.Output, l => l.Contains("p2p <command> --help", StringComparison.Ordinal));
        Assert.Equal(result.Output, (await P2pProcess.RunAsync("help")).Output);
    }

    [Fact]
    public async Task P2p_alone_must_print_the_usage_on_standard_error_and_exit_2()
    {
        var result = await P2pProcess.RunAsync();

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("Usage:", result.Error);
        Assert.StartsWith("p2p: no command given; the commands are demo, listen, ping", result.Error[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_must_name_the_assembly_version_and_the_protocols_spoken()
    {
        var result = await P2pProcess.RunAsync("--version");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^p2p \d+\.\d+\.\d+\S* \(libp2p-dotnet/\d+\.\d+\.\d+, Libp2p\.Host \d+\.\d+\.\d+", result.Output[0]);
        Assert.Contains("protocol version: ipfs/0.1.0", result.Output);
        Assert.Contains(result.Output, l => l.StartsWith("security: ", StringComparison.Ordinal) && l.Contains("/noise", StringComparison.Ordinal));
        Assert.Contains(result.Output, l => l.StartsWith("muxers: ", StringComparison.Ordinal) && l.Contains("/yamux/1.0.0", StringComparison.Ordinal));
        Assert.Contains(result.Output, l => l.StartsWith("protocols: ", StringComparison.Ordinal) && l.Contains("/ipfs/ping/1.0.0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Version_with_json_must_be_one_json_object()
    {
        var result = await P2pProcess.RunAsync("--version", "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(Assert.Single(result.Output));
        Assert.Equal("ipfs/0.1.0", json.RootElement.GetProperty("protocolVersion").GetString());
        Assert.StartsWith("libp2p-dotnet/", json.RootElement.GetProperty("agentVersion").GetString(), StringComparison.Ordinal);
        Assert.Contains("/perf/1.0.0", json.RootElement.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
    }
}
