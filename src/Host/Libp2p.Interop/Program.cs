using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Libp2p.Interop;

return await InteropProgram.RunAsync(args);

namespace Libp2p.Interop
{
    /// <summary>
    /// <c>libp2p-interop</c>: without arguments, one side of a ping test configured by the
    /// contracts' environment variables; <c>matrix</c> runs every combination and writes the table.
    /// Exit codes: 0 passed, 1 failed, 2 misused.
    /// </summary>
    internal static class InteropProgram
    {
        private const string Usage = """
            usage:
              libp2p-interop            one side of a ping test, configured by environment variables:
                                          test-plans transport-interop: transport, muxer, security, is_dialer,
                                            ip, redis_addr, test_timeout_seconds
                                          unified-testing: IS_DIALER, REDIS_ADDR, TEST_KEY, TRANSPORT,
                                            SECURE_CHANNEL, MUXER, LISTENER_IP (DEBUG=true: verbose)
              libp2p-interop matrix [--out FILE] [--contract transport-interop|unified-testing]
                                    [--parallel N] [--timeout SECONDS] [--only dotnet|js] [--js DIR]
                                        every transport × security × muxer, both roles, dotnet and js-libp2p,
                                        through a redis-server of its own; the table goes between the
                                        matrix markers of FILE (docs/interop.md), or to stdout
            """;

        public static async Task<int> RunAsync(string[] args)
        {
            if (args.Length == 0)
                return await RunTestAsync().ConfigureAwait(false);
            if (args[0] == "matrix")
            {
                try
                {
                    return await RunMatrixAsync(args[1..]).ConfigureAwait(false);
                }
                catch (ArgumentException e)
                {
                    await Console.Error.WriteLineAsync($"libp2p-interop matrix: {e.Message}\n{Usage}").ConfigureAwait(false);
                    return 2;
                }
            }
            var help = args[0] is "--help" or "-h" or "help";
            await (help ? Console.Out : Console.Error).WriteLineAsync(help ? Usage : $"libp2p-interop: unknown command '{args[0]}'\n{Usage}").ConfigureAwait(false);
            return help ? 0 : 2;
        }

        private static async Task<int> RunTestAsync()
        {
            // stdout carries the result alone: whatever else writes to the console (Akka's logger
            // among them) is sent to stderr, as both contracts ask.
            var result = Console.Out;
            Console.SetOut(Console.Error);
            InteropSettings settings;
            try
            {
                settings = InteropSettings.FromEnvironment(Environment.GetEnvironmentVariable);
            }
            catch (InteropConfigurationException e)
            {
                await Console.Error.WriteLineAsync($"ERROR {e.Message}").ConfigureAwait(false);
                return 2;
            }
            using var stop = new CancellationTokenSource();
            // The runner stops a listener with SIGTERM (docker) or SIGINT; either ends it cleanly.
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            var debug = Environment.GetEnvironmentVariable("DEBUG") == "true";
            return await PingTest.RunAsync(settings, result, Console.Error, debug, stop.Token).ConfigureAwait(false);

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        }

        private static async Task<int> RunMatrixAsync(string[] args)
        {
            string? output = null, jsFolder = null, only = null;
            var contract = InteropContract.TransportInterop;
            var parallelism = 2;
            var timeout = TimeSpan.FromSeconds(60);
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} takes a value");
                switch (args[i])
                {
                    case "--out": output = Value(); break;
                    case "--js": jsFolder = Value(); break;
                    case "--only": only = Value() is "dotnet" or "js" ? args[i] : throw new ArgumentException($"--only takes dotnet or js, not '{args[i]}'"); break;
                    case "--parallel": parallelism = int.TryParse(Value(), CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 16 ? p : throw new ArgumentException("--parallel takes 1 to 16"); break;
                    case "--timeout": timeout = int.TryParse(Value(), CultureInfo.InvariantCulture, out var s) && s > 0 ? TimeSpan.FromSeconds(s) : throw new ArgumentException("--timeout takes a number of seconds above 0"); break;
                    case "--contract":
                        contract = Value() switch
                        {
                            "transport-interop" => InteropContract.TransportInterop,
                            "unified-testing" => InteropContract.UnifiedTesting,
                            var other => throw new ArgumentException($"--contract takes transport-interop or unified-testing, not '{other}'"),
                        };
                        break;
                    default: throw new ArgumentException($"unknown option '{args[i]}'");
                }
            }

            var implementations = new List<InteropImplementation>();
            if (only is null or "dotnet")
                implementations.Add(InteropImplementation.Dotnet);
            string? folder = null;
            if (only is null or "js")
            {
                folder = JsHarness.FindFolder(jsFolder);
                await JsHarness.EnsureInstalledAsync(folder).ConfigureAwait(false);
                implementations.Add(InteropImplementation.Js(folder));
            }
            var cells = InteropRunner.Cells(implementations);
            await Console.Error.WriteLineAsync($"running {cells.Count} tests, {parallelism} at a time").ConfigureAwait(false);
            var results = await InteropRunner.RunAsync(cells, contract, timeout, parallelism,
                r => Console.Error.WriteLine($"{(r.Passed ? "pass" : "FAIL")} {r.Cell.Name}{(r.Measurement is { } m ? string.Create(CultureInfo.InvariantCulture, $" {m.HandshakePlusOneRttMillis:0.0} ms") : $": {r.Failure}")}")).ConfigureAwait(false);

            var table = MatrixReport.Table(results, contract, await DescribeEnvironmentAsync(folder).ConfigureAwait(false));
            if (output is null)
                await Console.Out.WriteAsync(table).ConfigureAwait(false);
            else
                await File.WriteAllTextAsync(output, MatrixReport.Splice(File.Exists(output) ? await File.ReadAllTextAsync(output).ConfigureAwait(false) : "", table)).ConfigureAwait(false);
            return results.All(r => r.Passed) ? 0 : 1;
        }

        private static async Task<string> DescribeEnvironmentAsync(string? jsFolder)
        {
            var parts = new List<string>
            {
                $"run {DateTime.UtcNow:yyyy-MM-dd}",
                $"{Environment.ProcessorCount} cores",
                $".NET {Environment.Version}",
            };
            // The times are of cold processes competing for the cores: say how busy they were.
            if (File.Exists("/proc/loadavg"))
                parts.Add($"load average {(await File.ReadAllTextAsync("/proc/loadavg").ConfigureAwait(false)).Split(' ')[0]} at the end");
            if (jsFolder is not null)
            {
                parts.Add($"Node {await NodeVersionAsync().ConfigureAwait(false)}");
                var manifest = Path.Combine(jsFolder, "node_modules", "libp2p", "package.json");
                if (File.Exists(manifest))
                {
                    using var json = JsonDocument.Parse(await File.ReadAllTextAsync(manifest).ConfigureAwait(false));
                    parts.Add($"js-libp2p {json.RootElement.GetProperty("version").GetString()}");
                }
            }
            return string.Join(", ", parts);
        }

        private static async Task<string> NodeVersionAsync()
        {
            using var node = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true, UseShellExecute = false });
            if (node is null)
                return "?";
            var version = await node.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            await node.WaitForExitAsync().ConfigureAwait(false);
            return version.Trim().TrimStart('v');
        }
    }
}
