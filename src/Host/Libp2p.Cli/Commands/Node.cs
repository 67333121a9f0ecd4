using Akka.Actor;
using Akka.Configuration;
using Libp2p.Host;
using Libp2p.Host.Identity;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Commands;

/// <summary>What the commands that run a node share: the actor system, the host and how they end.</summary>
internal static class Node
{
    /// <summary>
    /// Akka logs to standard output, which is the tool's output: silence it, so every line there is
    /// one the tool wrote (a <c>--config</c> file may turn logging back on). Akka would also answer
    /// SIGTERM itself by shutting the system down under the command; the command handles it instead.
    /// The scheduler is the <see cref="TimerScheduler"/>: an idle node costs no CPU.
    /// </summary>
    private static readonly Config Quiet = ConfigurationFactory.ParseString("""
        akka.loglevel = OFF
        akka.stdout-loglevel = OFF
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """).WithFallback(ConfigurationFactory.ParseString(TimerScheduler.Hocon)).WithFallback(ConfigurationFactory.ParseString(AkkaIoSettings.Hocon));

    /// <summary>An actor system for the tool, with <paramref name="config"/> over the quiet defaults.</summary>
    public static ActorSystem CreateSystem(string name, Config? config = null) =>
        ActorSystem.Create(name, config is null ? Quiet : config.WithFallback(Quiet));

    /// <summary>Reads <c>--config FILE</c> (HOCON over the reference config); empty without it.</summary>
    public static Config ReadConfig(CommandLine line)
    {
        var path = line.Option("config");
        if (path is null)
            return ConfigurationFactory.Empty;
        try
        {
            return ConfigurationFactory.ParseString(File.ReadAllText(path));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new UsageException("no-such-file", $"--config {path}: no such file");
        }
        catch (Exception e) when (e is ConfigurationException or FormatException)
        {
            throw new UsageException("invalid-config", $"--config {path}: not valid HOCON: {OneLine(e.Message)}");
        }
    }

    /// <summary>
    /// The settings of a node that listens: the config file, then <c>--key</c> and <c>--listen</c>.
    /// Without a key file the node has a fresh key each run, so a test or demo never touches the
    /// identity that <c>p2p id</c> keeps.
    /// </summary>
    public static HostSettings ListenerSettings(CommandLine line, Config config)
    {
        var keyFile = line.Option("key");
        var listen = line.Options("listen").Select(ParseAddress).ToArray();
        PrivateKey? identity = keyFile is null ? null : IdentityKeyFile.LoadOrCreate(keyFile, KeyType.Ed25519).Key;
        HostSettings settings;
        try
        {
            settings = HostSettings.FromConfig(config, identity);
        }
        catch (ConfigurationException e)
        {
            throw new UsageException("invalid-config", $"configuration: {OneLine(e.Message)}");
        }
        return listen.Length == 0 ? settings : settings with { ListenAddresses = listen };
    }

    /// <summary>The settings of a node that only dials: the config file's, with a fresh key and no listener.</summary>
    public static HostSettings DialerSettings(Config config, TimeSpan timeout)
    {
        try
        {
            return HostSettings.FromConfig(config) with { ListenAddresses = [], DialTimeout = timeout };
        }
        catch (ConfigurationException e)
        {
            throw new UsageException("invalid-config", $"configuration: {OneLine(e.Message)}");
        }
    }

    /// <summary>Parses a multiaddr from the command line; a bad one is a usage error naming it.</summary>
    public static Multiaddr ParseAddress(string text)
    {
        try
        {
            return Multiaddr.Parse(text);
        }
        catch (FormatException e)
        {
            // 'ipfs ping' takes a bare peer ID and finds the peer; this tool has no peer routing.
            if (IsPeerId(text))
                throw new UsageException("invalid-address", $"'{text}' is a peer ID, not an address: this tool does not look peers up; give the address the peer listens on, ending in /p2p/{text}, as 'p2p listen' prints it");
            throw new UsageException("invalid-address", $"'{text}' is not a multiaddr: {OneLine(e.Message)}");
        }
    }

    private static bool IsPeerId(string text)
    {
        return PeerId.TryParse(text, out _);
    }

    /// <summary>The one positional argument of a command that dials: a multiaddr ending in <c>/p2p/&lt;peer id&gt;</c>.</summary>
    public static (Multiaddr Address, PeerId Peer) ParseTarget(CommandLine line)
    {
        if (line.Positional.Count != 1)
            throw new UsageException(line.Positional.Count == 0 ? "missing-argument" : "unexpected-argument",
                $"'{line.Command}' takes one multiaddr ending in /p2p/<peer id>{(line.Positional.Count == 0 ? "" : $", got {line.Positional.Count}")}; see 'p2p {line.Command} --help'");
        return ParsePeerAddress(line.Positional[0]);
    }

    /// <summary>Parses a multiaddr that names its peer; without <c>/p2p/</c> it is a usage error.</summary>
    public static (Multiaddr Address, PeerId Peer) ParsePeerAddress(string text)
    {
        var address = ParseAddress(text);
        if (address.PeerIdText is null)
            throw new UsageException("invalid-address", $"'{text}' does not end in /p2p/<peer id>, so the peer to expect is unknown");
        try
        {
            return (address, Libp2pHost.Split(address).Peer);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new UsageException("invalid-address", $"'{text}': '{address.PeerIdText}' is not a peer ID");
        }
    }

    /// <summary><c>--timeout SECONDS</c>: how long connecting, and each exchange but perf's transfer, may take.</summary>
    public static TimeSpan Timeout(CommandLine line, long fallbackSeconds = 30)
    {
        var seconds = line.LongOption("timeout", fallbackSeconds);
        return seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw new UsageException("invalid-value", "--timeout takes a number of seconds above 0");
    }

    /// <summary>
    /// Starts a dialing node, connects it to <paramref name="address"/>, runs <paramref name="work"/>,
    /// then stops the node and the system whatever happened.
    /// </summary>
    public static async Task<int> DialAsync(CommandLine line, Multiaddr address, TimeSpan timeout, Func<Libp2pHost, PeerId, Task<int>> work, IReadOnlyList<Multiaddr>? listen = null)
    {
        var config = ReadConfig(line);
        var settings = DialerSettings(config, timeout);
        if (listen is { Count: > 0 })
            settings = settings with { ListenAddresses = listen };
        var system = CreateSystem("p2p", config);
        try
        {
            var host = await Libp2pHost.StartAsync(system, settings, "libp2p").ConfigureAwait(false);
            var (peer, _) = Libp2pHost.Split(address);
            try
            {
                // The dial has its own timeout; this one is for a dial that never reports at all.
                await host.ConnectAsync(address).WaitAsync(timeout + TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new CommandFailedException($"cannot connect to {address}: no answer within {timeout.TotalSeconds:0} s", code: "timeout");
            }
            catch (Exception e) when (e is not CommandFailedException)
            {
                throw new CommandFailedException($"cannot connect to {address}: {Failure.Describe(e)}", e);
            }
            var exit = await work(host, peer).ConfigureAwait(false);
            await host.StopAsync().ConfigureAwait(false);
            return exit;
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    /// <summary>Awaits one exchange with a peer; its failure becomes the command's one-line reason, prefixed with <paramref name="what"/>.</summary>
    public static async Task<T> AttemptAsync<T>(string what, Task<T> exchange)
    {
        try
        {
            return await exchange.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw new CommandFailedException($"{what}: {Failure.Describe(e)}", e);
        }
    }

    /// <summary>Makes a message fit on one line.</summary>
    public static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>The command ran but did not succeed; the message is the one line the tool prints, and it exits with 1.</summary>
internal sealed class CommandFailedException(string message, Exception? inner = null, string? code = null) : Exception(message, inner)
{
    /// <summary>The stable <c>error</c> of the <c>--json</c> error object: named by the failure's cause.</summary>
    public string Code { get; } = code ?? (inner is null ? "failed" : Failure.Code(inner));
}
