using System.Text.Json;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Tests;

public sealed class IdCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("p2p-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task P2p_id_must_create_a_key_file_and_print_its_peer_id()
    {
        var path = Path.Combine(_folder, "node.key");

        var result = await P2pProcess.RunAsync("id", "--key", path);

        Assert.Equal(0, result.ExitCode);
        using var key = PrivateKey.FromProtobuf(File.ReadAllBytes(path));
        Assert.Equal($"peer id: {PeerId.FromPublicKey(key.PublicKey)}", result.Output[0]);
        Assert.Equal("key type: Ed25519", result.Output[1]);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task P2p_id_must_print_the_same_peer_id_for_an_existing_key()
    {
        var path = Path.Combine(_folder, "node.key");
        using var key = PrivateKey.Generate(KeyType.Secp256k1);
        await File.WriteAllBytesAsync(path, key.ToProtobuf());

        var result = await P2pProcess.RunAsync("id", "--key", path, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output[0]);
        Assert.Equal(PeerId.FromPublicKey(key.PublicKey).ToString(), json.RootElement.GetProperty("peerId").GetString());
        Assert.Equal("Secp256k1", json.RootElement.GetProperty("keyType").GetString());
        Assert.False(json.RootElement.GetProperty("created").GetBoolean());
    }

    [Theory]
    [InlineData("ecdsa", "ECDSA")]
    [InlineData("secp256k1", "Secp256k1")]
    public void P2p_id_must_create_the_key_type_asked_for(string option, string printed)
    {
        var path = Path.Combine(_folder, $"{option}.key");
        var output = new StringWriter();

        var exit = Cli.Run(["id", "--key", path, "--type", option], output, TextWriter.Null);

        Assert.Equal(0, exit);
        Assert.Contains($"key type: {printed}", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task P2p_id_must_fail_with_one_line_on_a_file_that_is_no_key()
    {
        var path = Path.Combine(_folder, "garbage.key");
        await File.WriteAllTextAsync(path, "not a key");

        var result = await P2pProcess.RunAsync("id", "--key", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.Error);
        Assert.StartsWith($"p2p: {path}: not a libp2p private key", result.Error[0], StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Theory]
    [InlineData(new[] { "id", "--type", "dsa" }, "--type takes ed25519, secp256k1, ecdsa or rsa, not 'dsa'")]
    [InlineData(new[] { "id", "--colour", "red" }, "unknown option '--colour' for 'id'; see 'p2p id --help'")]
    [InlineData(new[] { "fly" }, "unknown command 'fly'")]
    [InlineData(new[] { "id", "--key" }, "option --key needs a value")]
    public void P2p_must_reject_a_wrong_command_line_with_exit_code_2(string[] args, string reason)
    {
        var error = new StringWriter();

        var exit = Cli.Run(args, TextWriter.Null, error);

        Assert.Equal(2, exit);
        Assert.StartsWith($"p2p: {reason}", error.ToString(), StringComparison.Ordinal);
    }
}
