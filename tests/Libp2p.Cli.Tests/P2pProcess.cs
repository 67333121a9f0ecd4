using System.Diagnostics;
using System.Threading.Channels;

namespace Libp2p.Cli.Tests;

/// <summary>Runs the built <c>p2p</c> tool as a separate process, as a user would.</summary>
internal static class P2pProcess
{
    private static readonly string ToolPath = Path.Combine(AppContext.BaseDirectory, "p2p.dll");

    public sealed record Result(int ExitCode, string[] Output, string[] Error);

    public static Task<Result> RunAsync(params string[] args) => RunInAsync(null, args);

    /// <summary>Runs <c>p2p</c> inside the network namespace <paramref name="netns"/> (null: this one) and waits for its exit.</summary>
    public static async Task<Result> RunInAsync(string? netns, params string[] args)
    {
        using var process = Process.Start(StartInfo(netns, args)) ?? throw new InvalidOperationException("p2p did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, Lines(await output), Lines(await error));
    }

    /// <summary>Starts a long-running command (<c>listen</c>, <c>top</c>) whose lines are read as they come.</summary>
    public static Running Start(params string[] args) => StartIn(null, args);

    /// <summary>Starts a long-running command inside the network namespace <paramref name="netns"/> (null: this one).</summary>
    public static Running StartIn(string? netns, params string[] args) =>
        new(Process.Start(StartInfo(netns, args)) ?? throw new InvalidOperationException("p2p did not start"));

    private static ProcessStartInfo StartInfo(string? netns, string[] args)
    {
        // ip netns exec enters the namespace and then execs dotnet: the process is p2p itself.
        var start = new ProcessStartInfo(netns is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            foreach (var arg in new[] { "netns", "exec", netns, "dotnet" })
                start.ArgumentList.Add(arg);
        }
        start.ArgumentList.Add(ToolPath);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        return start;
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A running <c>p2p</c>: its output lines as they arrive, and a SIGTERM to end it.</summary>
    public sealed class Running : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly List<string> _seen = [];
        private readonly Task _reading;
        private readonly Task<string> _error;

        public Running(Process process)
        {
            _process = process;
            _error = process.StandardError.ReadToEndAsync();
            _reading = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                    _lines.Writer.TryWrite(line.Trim());
                _lines.Writer.TryComplete();
            });
        }

        public int Id => _process.Id;

        /// <summary>Every line read so far.</summary>
        public IReadOnlyList<string> Seen => _seen;

        /// <summary>
        /// A line read already that matches, or else the next one: for lines the node may print just
        /// before or just after the one a test waited for (two events of one moment).
        /// </summary>
        public async Task<string> SeenOrNextLineAsync(Func<string, bool> match, TimeSpan? within = null) =>
            _seen.FirstOrDefault(match) ?? await LineAsync(match, within);

        /// <summary>Waits for the next line that matches; fails if the process ends or time runs out first.</summary>
        public async Task<string> LineAsync(Func<string, bool> match, TimeSpan? within = null)
        {
            using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(30));
            try
            {
                while (await _lines.Reader.WaitToReadAsync(timeout.Token))
                {
                    while (_lines.Reader.TryRead(out var line))
                    {
                        _seen.Add(line);
                        if (match(line))
                            return line;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching line; seen: {string.Join(" | ", _seen)}");
            }
            throw new InvalidOperationException($"p2p ended without a matching line; seen: {string.Join(" | ", _seen)}; error: {await _error}");
        }

        /// <summary>Sends SIGTERM, as a service manager would, and waits for the exit.</summary>
        public async Task<Result> TerminateAsync()
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
            await _reading;
            while (_lines.Reader.TryRead(out var line))
                _seen.Add(line);
            return new Result(_process.ExitCode, [.. _seen], Lines(await _error));
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }
}
