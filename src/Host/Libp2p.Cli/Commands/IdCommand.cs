using Libp2p.Host.Identity;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Commands;

/// <summary><c>p2p id [--key FILE] [--type ed25519|secp256k1|ecdsa|rsa]</c>: load or create an identity and show it.</summary>
internal static class IdCommand
{
    public static int Run(CommandLine line, TextWriter output)
    {
        var path = line.Option("key") ?? IdentityKeyFile.DefaultPath;
        var type = ParseKeyType(line.Option("type"));
        if (line.Positional.Count > 0)
            throw new UsageException("unexpected-argument", $"'id' takes no arguments, got '{line.Positional[0]}'");

        var (key, created) = IdentityKeyFile.LoadOrCreate(path, type ?? KeyType.Ed25519);
        using (key)
        {
            if (!created && type is { } wanted && wanted != key.Type)
                throw new UsageException("key-type-mismatch", $"{path} holds {Article(key.Type)} {key.Type} key, not {wanted}; name another --key file");
            var peer = PeerId.FromPublicKey(key.PublicKey);
            if (line.Json)
            {
                Output.Json(output, new Dictionary<string, object?>
                {
                    ["peerId"] = peer.ToString(),
                    ["keyType"] = key.Type.ToString(),
                    ["keyFile"] = Path.GetFullPath(path),
                    ["created"] = created,
                });
            }
            else
            {
                output.WriteLine($"peer id: {peer}");
                output.WriteLine($"key type: {key.Type}");
                output.WriteLine($"key file: {Path.GetFullPath(path)}{(created ? " (created)" : "")}");
            }
        }
        return 0;
    }

    /// <summary>"an Ed25519", "an ECDSA", "an RSA", "a Secp256k1": by how the name is said.</summary>
    internal static string Article(KeyType type) => type is KeyType.Secp256k1 ? "a" : "an";

    private static KeyType? ParseKeyType(string? text) => text?.ToLowerInvariant() switch
    {
        null => null,
        "ed25519" => KeyType.Ed25519,
        "secp256k1" => KeyType.Secp256k1,
        "ecdsa" => KeyType.ECDSA,
        "rsa" => KeyType.RSA,
        _ => throw new UsageException("invalid-value", $"--type takes ed25519, secp256k1, ecdsa or rsa, not '{text}'"),
    };
}
