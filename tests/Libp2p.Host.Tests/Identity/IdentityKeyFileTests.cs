using Libp2p.Host.Identity;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Host.Tests.Identity;

public sealed class IdentityKeyFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("p2p-identity-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void LoadOrCreate_must_create_an_Ed25519_key_readable_by_the_owner_only()
    {
        var path = Path.Combine(_folder, "nested", "identity.key");

        var (key, created) = IdentityKeyFile.LoadOrCreate(path);

        Assert.True(created);
        Assert.Equal(KeyType.Ed25519, key.Type);
        Assert.Equal(key.ToProtobuf(), File.ReadAllBytes(path));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Theory]
    [InlineData(KeyType.Ed25519)]
    [InlineData(KeyType.Secp256k1)]
    [InlineData(KeyType.ECDSA)]
    public void LoadOrCreate_must_load_the_same_identity_the_second_time(KeyType type)
    {
        var path = Path.Combine(_folder, $"{type}.key");
        var (first, _) = IdentityKeyFile.LoadOrCreate(path, type);

        var (second, created) = IdentityKeyFile.LoadOrCreate(path, type);

        Assert.False(created);
        Assert.Equal(type, second.Type);
        Assert.Equal(PeerId.FromPublicKey(first.PublicKey), PeerId.FromPublicKey(second.PublicKey));
    }

    [Fact]
    public void Save_must_never_overwrite_an_existing_identity()
    {
        var path = Path.Combine(_folder, "identity.key");
        var (key, _) = IdentityKeyFile.LoadOrCreate(path);
        using var other = PrivateKey.Generate(KeyType.Ed25519);

        Assert.Throws<IOException>(() => IdentityKeyFile.Save(other, path));
        Assert.Equal(key.ToProtobuf(), File.ReadAllBytes(path));
    }

    [Fact]
    public void Load_must_name_the_file_when_it_holds_no_key()
    {
        var path = Path.Combine(_folder, "garbage.key");
        File.WriteAllBytes(path, [0x08, 0x01, 0x12, 0x40, 0x01]);

        var error = Assert.Throws<FormatException>(() => IdentityKeyFile.Load(path));

        Assert.StartsWith($"{path}: not a libp2p private key", error.Message, StringComparison.Ordinal);
    }
}
