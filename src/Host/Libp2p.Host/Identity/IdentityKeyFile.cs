using Libp2p.Protocols.Crypto;

namespace Libp2p.Host.Identity;

/// <summary>
/// A node's identity on disk: one libp2p protobuf-encoded private key (crypto.proto), the format
/// go-libp2p and js-libp2p tools read and write, so a key can move between implementations.
/// </summary>
public static class IdentityKeyFile
{
    /// <summary>
    /// Where the <c>p2p</c> tool keeps its identity when none is named:
    /// <c>$XDG_CONFIG_HOME/p2p/identity.key</c> (on Linux usually <c>~/.config/p2p/identity.key</c>).
    /// </summary>
    public static string DefaultPath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.Create), "p2p", "identity.key");

    /// <summary>Reads the private key stored at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no file at the path.</exception>
    /// <exception cref="FormatException">The file is not a libp2p protobuf private key.</exception>
    public static PrivateKey Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        try
        {
            return PrivateKey.FromProtobuf(bytes);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: not a libp2p private key ({e.Message})", e);
        }
    }

    /// <summary>
    /// Loads the key at <paramref name="path"/>, or generates one of <paramref name="typeIfCreated"/>
    /// and saves it there when the file does not exist.
    /// </summary>
    /// <returns>The key, and whether it was created by this call.</returns>
    public static (PrivateKey Key, bool Created) LoadOrCreate(string path, KeyType typeIfCreated = KeyType.Ed25519)
    {
        if (File.Exists(path))
            return (Load(path), false);
        var key = PrivateKey.Generate(typeIfCreated);
        try
        {
            Save(key, path);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: its key wins, so both agree on one identity.
            key.Dispose();
            return (Load(path), false);
        }
        return (key, true);
    }

    /// <summary>
    /// Writes <paramref name="key"/> to a new file at <paramref name="path"/>, readable and writable
    /// by the owner only (mode 0600), creating the folder if needed. An existing file is never
    /// overwritten: losing an identity is not something a save should do by accident.
    /// </summary>
    /// <exception cref="IOException">The file exists already.</exception>
    public static void Save(PrivateKey key, string path)
    {
        ArgumentNullException.ThrowIfNull(key);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
            Directory.CreateDirectory(folder);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            // Set at creation, so the secret is never readable by others, not even for a moment.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        file.Write(key.ToProtobuf());
        file.Flush(flushToDisk: true);
    }
}
