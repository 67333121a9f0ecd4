using Libp2p.Cli;
using Libp2p.Cli.Commands;

return Cli.Run(args, Console.Out, Console.Error);

namespace Libp2p.Cli
{
    /// <summary>The <c>p2p</c> tool's entry: dispatch, usage and exit codes (0 ok, 1 failed, 2 misused).</summary>
    internal static class Cli
    {
        private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "json", "help" };

        public const string Usage = """
            usage: p2p <command> [options]

            commands:
              id [--key FILE] [--type ed25519|secp256k1|ecdsa|rsa]
                    load the identity in FILE (created when missing) and print its peer ID
              help  this text

            every command takes --json for machine-readable output
            """;

        public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
        {
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
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                error.WriteLine($"p2p: {e.Message}");
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
