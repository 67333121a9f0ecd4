using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Libp2p.Cli.Tests;

/// <summary>
/// <c>perf</c> and <c>top</c> as a person sees them: in a tmux pseudo-terminal 50 and 80 columns
/// wide. No line may wrap (a wrapped progress line leaves a stale row behind each redraw), and the
/// screen must end clean: the bar gone, one table on it.
/// </summary>
public sealed partial class TerminalTests(ListenerFixture listener) : IClassFixture<ListenerFixture>
{
    private static readonly string Tool = Path.Combine(AppContext.BaseDirectory, "p2p.dll");

    [Theory]
    [InlineData(50)]
    [InlineData(80)]
    public async Task Perf_must_draw_a_bar_that_fits_at_most_ten_times_a_second_and_leave_only_its_results(int width)
    {
        await using var terminal = await Terminal.StartAsync(width, $"dotnet {Tool} perf {listener.Address} --upload 192MiB --download 192MiB");

        var elapsed = await terminal.RunAsync();

        var screen = await terminal.ScreenAsync();
        AssertNoWraps(screen, await terminal.ScreenAsync(joined: true), width);
        var lines = screen.Where(l => l.Length > 0).ToArray();
        var peer = listener.Address[(listener.Address.LastIndexOf('/') + 1)..];
        Assert.True(lines.Length == 3, string.Join('\n', screen));
        Assert.Equal(width > 60 ? $"perf {peer}" : $"perf {peer[..8]}…{peer[^4..]}", lines[0]);
        Assert.StartsWith("upload: 192 MiB in ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("download: 192 MiB in ", lines[2], StringComparison.Ordinal);
        // What was drawn on the way: bars narrower than the terminal, with percentage, rate and time left.
        var bars = BarPattern().Matches(terminal.Raw()).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(bars);
        Assert.All(bars, bar =>
        {
            Assert.True(bar.Length < width, $"a bar of {bar.Length} columns in {width}: {bar}");
            Assert.Matches(@"^\[[#.]+\] +\d+%", bar);
            Assert.Contains("ETA ", bar, StringComparison.Ordinal);
            Assert.Contains("/s", bar, StringComparison.Ordinal);
        });
        Assert.True(bars.Count <= elapsed.TotalSeconds * 10 + 2, $"{bars.Count} redraws in {elapsed.TotalSeconds:0.0} s");
    }

    [Theory]
    [InlineData(50)]
    [InlineData(80)]
    public async Task Top_must_redraw_a_table_that_fits_and_leave_one_table_on_the_screen(int width)
    {
        // Run in the background of the pane's shell, so its process ID is known and it can be sent
        // SIGTERM once it has redrawn twice (not SIGINT: a test host may start its children with
        // SIGINT ignored, and .NET keeps it so).
        var pidFile = Path.Combine(Path.GetTempPath(), $"p2p-top-{Guid.NewGuid():N}.pid");
        await using var terminal = await Terminal.StartAsync(width, $"dotnet {Tool} top --connect {listener.Address} --interval 1 & echo $! > {pidFile}; wait");
        var running = terminal.RunAsync();
        await terminal.UntilAsync(raw => Regex.Matches(raw, Regex.Escape("\u001b[H\u001b[2J")).Count >= 2);
        using (var kill = Process.Start("kill", ["-TERM", File.ReadAllText(pidFile).Trim()]))
            await kill.WaitForExitAsync();
        await running;
        File.Delete(pidFile);

        var screen = await terminal.ScreenAsync();
        AssertNoWraps(screen, await terminal.ScreenAsync(joined: true), width);
        Assert.Single(screen, l => l.StartsWith("SCOPE", StringComparison.Ordinal));
        var peer = listener.Address[(listener.Address.LastIndexOf('/') + 1)..];
        Assert.StartsWith($"resources of {peer[..8]}…{peer[^4..]} at ", screen.First(l => l.Length > 0), StringComparison.Ordinal);
        Assert.Contains(screen, l => l.StartsWith("system ", StringComparison.Ordinal));
        Assert.Contains(screen, l => l.TrimStart().StartsWith("peer:", StringComparison.Ordinal));
    }

    private static void AssertNoWraps(IReadOnlyList<string> screen, IReadOnlyList<string> joined, int width)
    {
        Assert.All(screen, l => Assert.True(l.Length < width, $"{l.Length} columns in {width}: {l}"));
        // tmux joins the rows of a line that wrapped: the same rows joined or not means none did.
        Assert.Equal(screen, joined);
    }

    [GeneratedRegex("\r(\\[[#.]+\\][^\r\u001b]*)\u001b\\[K")]
    private static partial Regex BarPattern();

    /// <summary>A tmux server of the test's own with one window of the given width running one command.</summary>
    private sealed class Terminal : IAsyncDisposable
    {
        private readonly string _socket = $"p2p-test-{Guid.NewGuid():N}";
        private readonly string _log = Path.Combine(Path.GetTempPath(), $"p2p-terminal-{Guid.NewGuid():N}.log");

        public static async Task<Terminal> StartAsync(int width, string command)
        {
            var terminal = new Terminal();
            // The command waits for a go, so the pane's output is piped to the log from its first byte.
            await terminal.TmuxAsync("new-session", "-d", "-s", "main", "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", "30",
                $"tmux wait-for go; {command}; tmux wait-for -S done");
            await terminal.TmuxAsync("set-option", "-t", "main", "remain-on-exit", "on");
            // A redraw clears the screen; kept out of the history, every row captured is one still shown.
            await terminal.TmuxAsync("set-option", "-t", "main", "scroll-on-clear", "off");
            await terminal.TmuxAsync("pipe-pane", "-t", "main", "-o", $"cat >> {terminal._log}");
            return terminal;
        }

        /// <summary>Lets the command run and waits until it is done; returns how long it took.</summary>
        public async Task<TimeSpan> RunAsync()
        {
            var clock = Stopwatch.StartNew();
            await TmuxAsync("wait-for", "-S", "go");
            await TmuxAsync("wait-for", "done");
            return clock.Elapsed;
        }

        /// <summary>The rows of the history and the screen, trailing spaces cut; <paramref name="joined"/> joins rows tmux wrapped.</summary>
        public async Task<IReadOnlyList<string>> ScreenAsync(bool joined = false)
        {
            // From the start of the history: a stale row scrolled off the screen still counts.
            var text = await TmuxAsync(joined ? ["capture-pane", "-p", "-J", "-S", "-", "-t", "main"] : ["capture-pane", "-p", "-S", "-", "-t", "main"]);
            // tmux's own last row once the command has ended is no output of the command.
            var rows = text.Split('\n').Select(l => l.TrimEnd()).Where(l => !l.StartsWith("Pane is dead", StringComparison.Ordinal)).ToList();
            // Blank rows below the output are no part of it (and tmux gives one fewer of them joined).
            while (rows.Count > 0 && rows[^1].Length == 0)
                rows.RemoveAt(rows.Count - 1);
            while (rows.Count > 0 && rows[0].Length == 0)
                rows.RemoveAt(0);
            return rows;
        }

        /// <summary>Probes what the command wrote until <paramref name="seen"/> holds; fails after a minute.</summary>
        public async Task UntilAsync(Func<string, bool> seen)
        {
            var deadline = Stopwatch.StartNew();
            while (!seen(Raw()))
            {
                if (deadline.Elapsed > TimeSpan.FromMinutes(1))
                    throw new TimeoutException($"not seen on the terminal within a minute: {Raw()}");
                await Task.Delay(50);
            }
        }

        /// <summary>Everything the command wrote to the terminal, escape sequences included.</summary>
        public string Raw() => File.Exists(_log) ? File.ReadAllText(_log) : "";

        private async Task<string> TmuxAsync(params string[] args)
        {
            var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-L");
            start.ArgumentList.Add(_socket);
            foreach (var arg in args)
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("tmux did not start");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"tmux {string.Join(' ', args)}: exit {process.ExitCode}: {await error}");
            return await output;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await TmuxAsync("kill-server");
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            File.Delete(_log);
        }
    }
}
