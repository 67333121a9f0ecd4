using System.CommandLine;
using System.CommandLine.Invocation;
using Libp2p.Cli;
using Libp2p.Cli.Commands;

return await Cli.RunAsync(args, Console.Out, Console.Error);

namespace Libp2p.Cli
{
    /// <summary>The <c>p2p</c> tool's entry: dispatch, help and exit codes (0 ok, 1 failed, 2 misused).</summary>
    internal static class Cli
    {
        /// <summary>Runs the tool and waits; for callers that cannot await.</summary>
        public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error) =>
            RunAsync(args, output, error).GetAwaiter().GetResult();

        /// <summary>Runs one command; <paramref name="cancellationToken"/> stops a long-running one as SIGTERM would.</summary>
        public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
        {
            // Events arrive on actor threads while the command writes too.
            output = ReferenceEquals(output, Console.Out) ? output : TextWriter.Synchronized(output);
            // Known before parsing, so even a command line that does not parse fails in JSON.
            var json = args.Contains("--json", StringComparer.Ordinal);
            try
            {
                var root = Grammar.Build();
                // '@file' is no response file here: a multiaddr never starts with '@', and a name that does is a typo.
                var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
                if (parsed.Action is SynchronousCommandLineAction and not ParseErrorAction)
                    return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
                if (parsed.CommandResult.Command is RootCommand && parsed.UnmatchedTokens.Count == 0)
                {
                    // No command: the usage goes where errors go, and the exit code says it was a misuse.
                    if (!json)
                        Grammar.WriteHelp(root, error);
                    throw new UsageException("missing-command", $"no command given; the commands are {string.Join(", ", Grammar.Commands.Select(c => c.Name))}, help");
                }
                if (parsed.Errors.Count > 0)
                    throw CommandLine.Explain(parsed);
                var line = CommandLine.From(parsed);
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
                    "help" => Help(root, line, output),
                    _ => throw new UsageException("unknown-command", $"unknown command '{line.Command}'"),
                };
            }
            catch (UsageException e)
            {
                return Fail(error, json, 2, e.Code, e.Message);
            }
            catch (CommandFailedException e)
            {
                return Fail(error, json, 1, e.Code, e.Message);
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                return Fail(error, json, 1, e is UnauthorizedAccessException ? "permission-denied" : "io", e.Message);
            }
            catch (Exception e)
            {
                // A bug, not a network failure: still one line, with the type to search for.
                return Fail(error, json, 1, "internal", $"unexpected {e.GetType().Name}: {e.Message}");
            }
        }

        /// <summary>One line on standard error: <c>p2p: message</c>, or with <c>--json</c> <c>{"error": code, "message": …}</c>.</summary>
        private static int Fail(TextWriter error, bool json, int exitCode, string code, string message)
        {
            message = Node.OneLine(message);
            if (json)
                Output.Json(error, new Dictionary<string, object?> { ["error"] = code, ["message"] = message, ["exitCode"] = exitCode });
            else
                error.WriteLine($"p2p: {message}");
            return exitCode;
        }

        /// <summary><c>p2p help [COMMAND]</c>: the usage, or that command's help with examples.</summary>
        private static int Help(RootCommand root, CommandLine line, TextWriter output)
        {
            if (line.Positional.Count > 1)
                throw new UsageException("unexpected-argument", "'help' takes at most one command");
            if (line.Positional.Count == 0)
            {
                Grammar.WriteHelp(root, output);
                return 0;
            }
            var name = line.Positional[0];
            var command = root.Subcommands.FirstOrDefault(c => c.Name == name)
                ?? throw new UsageException("unknown-command", $"unknown command '{name}'; the commands are {string.Join(", ", Grammar.Commands.Select(c => c.Name))}, help");
            Grammar.WriteHelp(command, output);
            return 0;
        }
    }
}
