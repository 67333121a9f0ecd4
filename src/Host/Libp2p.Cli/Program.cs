using Libp2p.Cli;
using Libp2p.Cli.Commands;

return await Cli.RunAsync(args, Console.Out, Console.Error);

namespace Libp2p.Cli
{
    /// <summary>The <c>p2p</c> tool's entry: dispatch, usage and exit codes (0 ok, 1 failed, 2 misused).</summary>
    internal static class Cli
    {
        private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "json", "help", "once", "serve-resources" };

        public const string Usage = """
            usage: p2p <command> [options]

            commands:
              demo [--nodes N]
                    N nodes (default 2) in this process on 127.0.0.1: node 1 connects to the others,
                    they identify each other, ping, echo 64 KiB and move 8 MiB each way; then all stop
              listen [--listen MULTIADDR]... [--key FILE] [--config FILE] [--serve-resources]
                    run a node serving identify, ping, echo and perf; prints LISTEN <multiaddr> lines,
                    then its events; stops on Ctrl-C or SIGTERM. --config: HOCON over the reference
                    config; --serve-resources: let peers read its resource scopes (for top --connect)
              ping MULTIADDR [--count N] [--timeout SECONDS]
                    round-trip times to a peer (default 5 pings)
              echo MULTIADDR [--bytes N] [--timeout SECONDS]
                    send N random bytes (default 1MiB) to the peer's echo service and check them
              perf MULTIADDR [--upload BYTES] [--download BYTES] [--timeout SECONDS]
                    throughput each way (default 64MiB each)
              identify MULTIADDR [--timeout SECONDS]
                    what the peer says about itself: agent, protocols, addresses
              top [--connect MULTIADDR] [--interval SECONDS] [--once] [listen's options]
                    resource scopes, usage against limits: of a node of its own, or with --connect
                    of a 'p2p listen --serve-resources' node
              id [--key FILE] [--type ed25519|secp256k1|ecdsa|rsa]
                    load the identity in FILE (created when missing) and print its peer ID
              help  this text

            MULTIADDR ends in /p2p/<peer id>, as 'p2p listen' prints it; byte counts take KiB, MiB, GiB
            --timeout bounds connecting and each exchange except perf's transfer (default 30 s)
            every command takes --json for one JSON object a line
            """;

        /// <summary>Runs the tool and waits; for callers that cannot await.</summary>
        public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error) =>
            RunAsync(args, output, error).GetAwaiter().GetResult();

        /// <summary>Runs one command; <paramref name="cancellationToken"/> stops a long-running one as SIGTERM would.</summary>
        public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
        {
            // Events arrive on actor threads while the command writes too.
            output = ReferenceEquals(output, Console.Out) ? output : TextWriter.Synchronized(output);
            try
            {
                var line = CommandLine.Parse(args, Flags);
                if (line.Flag("help"))
                {
                    output.WriteLine(Usage);
                    return 0;
                }
                return line.Command switch
                {
                    "id" => IdCommand.Run(line, output),
                    "demo" => await DemoCommand.RunAsync(line, output).ConfigureAwait(false),
                    "listen" => await ListenCommand.RunAsync(line, output, cancellationToken).ConfigureAwait(false),
                    "ping" => await PingCommand.RunAsync(line, output).ConfigureAwait(false),
                    "echo" => await EchoCommand.RunAsync(line, output).ConfigureAwait(false),
                    "perf" => await PerfCommand.RunAsync(line, output, error).ConfigureAwait(false),
                    "identify" => await IdentifyCommand.RunAsync(line, output).ConfigureAwait(false),
                    "top" => await TopCommand.RunAsync(line, output, cancellationToken).ConfigureAwait(false),
                    "help" => Help(output),
                    _ => throw new UsageException($"unknown command '{line.Command}'"),
                };
            }
            catch (UsageException e)
            {
                error.WriteLine($"p2p: {e.Message}");
                error.WriteLine("run 'p2p help' for usage");
                return 2;
            }
            catch (CommandFailedException e)
            {
                error.WriteLine($"p2p: {Node.OneLine(e.Message)}");
                return 1;
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                error.WriteLine($"p2p: {Node.OneLine(e.Message)}");
                return 1;
            }
            catch (Exception e)
            {
                // A bug, not a network failure: still one line, with the type to search for.
                error.WriteLine($"p2p: unexpected {e.GetType().Name}: {Node.OneLine(e.Message)}");
                return 1;
            }
        }

        private static int Help(TextWriter output)
        {
            output.WriteLine(Usage);
            return 0;
        }
    }
}
