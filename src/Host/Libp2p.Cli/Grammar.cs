using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Libp2p.Cli;

/// <summary>
/// What the <c>p2p</c> tool accepts, declared once: each command with its argument, options and
/// examples. System.CommandLine parses against it and writes the help; the commands read the
/// result through <see cref="CommandLine"/>.
/// </summary>
internal static class Grammar
{
    /// <summary>One option: its name without dashes, the name of its value (none for a flag), what it does.</summary>
    internal sealed record OptionSpec(string Name, string? Value, string Description, bool Many = false);

    /// <summary>One command: its argument (if any), options, and examples shown in its help.</summary>
    internal sealed record CommandSpec(string Name, string Summary, string Description, string? Argument, IReadOnlyList<OptionSpec> Options, IReadOnlyList<string> Examples);

    // Examples name the peer's address $ADDR: a whole one is wider than an 80-column terminal.
    private const string Address = "$ADDR";

    private static readonly OptionSpec Json = new("json", null, "one JSON object a line on standard output; errors as one JSON object on standard error");
    private static readonly OptionSpec Config = new("config", "FILE", "HOCON over the reference config (akka.libp2p.*), for the node this command runs");
    private static readonly OptionSpec Timeout = new("timeout", "SECONDS", "bounds connecting and each exchange (default 30)");
    private static readonly OptionSpec Listen = new("listen", "MULTIADDR", "an address to listen on (repeatable; default /ip4/0.0.0.0/tcp/0)", Many: true);
    private static readonly OptionSpec Key = new("key", "FILE", "the node's identity key file, created when missing (default: a fresh key each run)");
    private static readonly OptionSpec ServeResources = new("serve-resources", null, "let peers read this node's resource scopes (for 'p2p top --connect')");

    /// <summary>Every command, in the order the usage lists them.</summary>
    public static IReadOnlyList<CommandSpec> Commands { get; } =
    [
        new("demo", "N nodes in this process exchange identify, ping, echo and perf, then stop",
            "Starts N nodes (default 2) in this process on 127.0.0.1: node 1 connects to the others, they identify each other, ping, echo 64 KiB and move 8 MiB each way; then all stop.",
            null,
            [new("nodes", "N", "how many nodes, 2 to 64 (default 2)"), Json],
            ["p2p demo", "p2p demo --nodes 4 --json"]),
        new("listen", "run a node serving identify, ping, echo and perf until Ctrl-C",
            "Runs a node serving identify, ping, echo and perf. Prints a LISTEN <multiaddr> line per dialable address, then its events; stops on Ctrl-C or SIGTERM.",
            null,
            [Listen, Key, Config, ServeResources,
                new("relay", null, "serve as a circuit relay for others (limits: akka.libp2p.relay.* in --config)"),
                new("reserve", "MULTIADDR", "reserve on this relay and be reachable through it (repeatable); prints RESERVED <address>", Many: true),
                Json],
            ["p2p listen --listen /ip4/127.0.0.1/tcp/4001", "p2p listen --key node.key --serve-resources", "p2p listen --relay --listen /ip4/0.0.0.0/tcp/4001",
                $"p2p listen --reserve {Address}", "p2p listen --config node.conf --json"]),
        new("ping", "round-trip times to a peer",
            "Connects to the peer and sends pings over /ipfs/ping/1.0.0; prints each round-trip time and a summary.",
            "MULTIADDR",
            [new("count", "N", "how many pings, 1 to 100000 (default 5)"), Timeout, Config,
                new("listen", "MULTIADDR", "listen here too (repeatable): dials then leave from its port, as hole punching needs", Many: true),
                new("await-direct", "SECONDS", "then wait for hole punching to replace a relayed connection; print DIRECT <address> and echo over it"),
                Json],
            [$"p2p ping {Address}", $"p2p ping {Address} --count 20 --json", $"p2p ping {Address} --listen /ip4/0.0.0.0/tcp/4001 --await-direct 30"]),
        new("echo", "send random bytes to the peer's echo service and check them",
            "Sends N random bytes to the peer's /echo/1.0.0 service and checks that they come back unchanged.",
            "MULTIADDR",
            [new("bytes", "N", "how many bytes: 1048576, 64KiB, 1MiB (default 1MiB)"), Timeout, Config, Json],
            [$"p2p echo {Address}", $"p2p echo {Address} --bytes 16MiB"]),
        new("perf", "throughput each way",
            "Measures throughput each way over /perf/1.0.0. On a terminal a progress bar on standard error shows percentage, rate and time left.",
            "MULTIADDR",
            [new("upload", "BYTES", "bytes to send (default 64MiB)"), new("download", "BYTES", "bytes to receive (default 64MiB)"), Timeout, Config, Json],
            [$"p2p perf {Address}", $"p2p perf {Address} --upload 1GiB --download 0"]),
        new("identify", "what the peer says about itself: agent, protocols, addresses",
            "Asks the peer over /ipfs/id/1.0.0 what it is: agent and protocol versions, protocols, listen addresses and the address it sees us at.",
            "MULTIADDR",
            [Timeout, Config, Json],
            [$"p2p identify {Address}", $"p2p identify {Address} --json"]),
        new("top", "resource scopes, usage against limits",
            "Shows resource scopes, usage against limits, redrawn every interval: of a node of its own (with listen's options), or with --connect of a 'p2p listen --serve-resources' node.",
            null,
            [
                new("connect", "MULTIADDR", "show this peer's scopes (it runs 'p2p listen --serve-resources')"),
                new("interval", "SECONDS", "seconds between redraws (default 2)"),
                new("once", null, "print one table and exit"),
                new("wide", null, "full peer IDs and scope names (wider than 80 columns)"),
                Timeout, Listen, Key, Config, ServeResources, Json,
            ],
            [$"p2p top --connect {Address}", "p2p top --once --json"]),
        new("id", "load the identity in a key file (created when missing) and print its peer ID",
            "Loads the identity key in FILE, creating it when missing, and prints its peer ID and key type.",
            null,
            [new("key", "FILE", $"the key file (default {Host.Identity.IdentityKeyFile.DefaultPath})"), new("type", "TYPE", "ed25519, secp256k1, ecdsa or rsa, for a new key (default ed25519)"), Json],
            ["p2p id", "p2p id --key node.key --type secp256k1"]),
    ];

    /// <summary>
    /// The command tree; help and version print through the invocation's output. With
    /// <paramref name="helpWidth"/>, the help option keeps System.CommandLine's own action, at that width.
    /// </summary>
    public static RootCommand Build(int? helpWidth = null)
    {
        var root = new RootCommand("p2p: libp2p nodes from the command line: identities, a demo, and a node to listen, ping, echo and measure with.");
        foreach (var option in root.Options)
        {
            if (option is HelpOption help)
                help.Action = helpWidth is { } width ? new HelpAction { MaxWidth = width } : new HelpPrinter();
            else if (option is VersionOption version)
                version.Action = new VersionPrinter();
        }
        root.Add(Make(Json));
        foreach (var spec in Commands)
        {
            var command = new Command(spec.Name, spec.Summary);
            if (spec.Argument is { } argument)
            {
                // A stray '-x' taken for the address is named as the unknown option it is (CommandLine.Explain).
                command.Add(new Argument<string>(argument) { Arity = ArgumentArity.ExactlyOne, Description = "the peer, as 'p2p listen' prints it: ends in /p2p/<peer id>" });
            }
            foreach (var option in spec.Options)
                command.Add(Make(option));
            root.Add(command);
        }
        var helpCommand = new Command("help", "this text, or a command's help with examples");
        helpCommand.Add(Make(Json));
        helpCommand.Add(new Argument<string>("COMMAND") { Arity = ArgumentArity.ZeroOrOne, Description = "the command to explain" });
        root.Add(helpCommand);
        return root;
    }

    private static Option Make(OptionSpec spec)
    {
        if (spec.Value is null)
            return new Option<bool>($"--{spec.Name}") { Description = spec.Description };
        if (spec.Many)
            return new Option<string[]>($"--{spec.Name}") { Description = spec.Description, HelpName = spec.Value, AllowMultipleArgumentsPerToken = false };
        return new Option<string>($"--{spec.Name}") { Description = spec.Description, HelpName = spec.Value };
    }

    /// <summary>The spec of a command of the tree, if it is one of the tool's commands.</summary>
    public static CommandSpec? SpecOf(Command command) =>
        command is RootCommand ? null : Commands.FirstOrDefault(s => s.Name == command.Name);

    /// <summary>Writes a command's help: System.CommandLine's description, usage, arguments and options, then its examples.</summary>
    public static void WriteHelp(Command command, TextWriter output)
    {
        // A tree of its own whose help option keeps System.CommandLine's action, which writes to the invocation's output.
        var words = command is RootCommand ? new[] { "--help" } : [command.Name, "--help"];
        Build(Output.Width(output)).Parse(words, new ParserConfiguration { ResponseFileTokenReplacer = null })
            .Invoke(new InvocationConfiguration { Output = output, Error = output, EnableDefaultExceptionHandler = false });
        var spec = SpecOf(command);
        if (spec is null)
        {
            output.WriteLine("Run 'p2p <command> --help' (or 'p2p help <command>') for a command's options and examples.");
            output.WriteLine("Byte counts take KiB, MiB and GiB.");
            return;
        }
        var width = Output.Width(output);
        Wrap(output, spec.Description, width, "");
        output.WriteLine();
        output.WriteLine("Examples:");
        foreach (var example in spec.Examples)
            output.WriteLine($"  {example}");
        if (spec.Examples.Any(e => e.Contains(Address, StringComparison.Ordinal)))
        {
            output.WriteLine();
            Wrap(output, "where ADDR is an address 'p2p listen' printed after LISTEN, such as /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…", width, "");
        }
    }

    /// <summary>Writes <paramref name="text"/> in lines narrower than <paramref name="width"/>, broken between words.</summary>
    private static void Wrap(TextWriter output, string text, int width, string indent)
    {
        var line = new System.Text.StringBuilder(indent);
        foreach (var word in text.Split(' '))
        {
            if (line.Length > indent.Length && line.Length + 1 + word.Length >= width)
            {
                output.WriteLine(line.ToString());
                line.Clear().Append(indent);
            }
            if (line.Length > indent.Length)
                line.Append(' ');
            line.Append(word);
        }
        output.WriteLine(line.ToString());
    }

    /// <summary>The version lines: the tool's and library's assembly versions, and what it speaks.</summary>
    public static IReadOnlyDictionary<string, object?> Version()
    {
        var settings = Host.HostSettings.FromConfig(Akka.Configuration.ConfigurationFactory.Empty);
        using var identity = settings.Identity;
        return new Dictionary<string, object?>
        {
            ["version"] = VersionOf(typeof(Grammar).Assembly),
            ["library"] = VersionOf(typeof(Host.Libp2pHost).Assembly),
            ["agentVersion"] = settings.AgentVersion,
            ["protocolVersion"] = settings.ProtocolVersion,
            ["security"] = new[] { Protocols.Noise.NoiseHandshake.ProtocolId },
            ["muxers"] = settings.Swarm.Muxers.Select(m => m.Protocol).ToArray(),
            ["protocols"] = new[]
            {
                Host.Services.IdentifyService.ProtocolId, Host.Services.IdentifyService.PushProtocolId, Host.Services.PingService.ProtocolId,
                Host.Services.EchoService.ProtocolId, Host.Services.PerfService.ProtocolId, Host.Services.ResourcesService.ProtocolId,
            },
            ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        };
    }

    private static string VersionOf(System.Reflection.Assembly assembly) =>
        assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
        ?? assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Help for the command the option came with; exit code 0.</summary>
    private sealed class HelpPrinter : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            WriteHelp(parseResult.CommandResult.Command, parseResult.InvocationConfiguration.Output);
            return 0;
        }
    }

    /// <summary><c>--version</c>: plain lines, or one JSON object with <c>--json</c>.</summary>
    private sealed class VersionPrinter : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var output = parseResult.InvocationConfiguration.Output;
            var version = Version();
            if (parseResult.Tokens.Any(t => t.Value == "--json"))
            {
                Output.Json(output, version);
                return 0;
            }
            output.WriteLine($"p2p {version["version"]} ({version["agentVersion"]}, Libp2p.Host {version["library"]}, {version["runtime"]})");
            output.WriteLine($"protocol version: {version["protocolVersion"]}");
            output.WriteLine($"security: {string.Join(' ', (string[])version["security"]!)}");
            output.WriteLine($"muxers: {string.Join(' ', (string[])version["muxers"]!)}");
            output.WriteLine($"protocols: {string.Join(' ', (string[])version["protocols"]!)}");
            return 0;
        }
    }
}
