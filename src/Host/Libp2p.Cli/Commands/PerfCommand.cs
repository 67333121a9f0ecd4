using Libp2p.Host.Services;

namespace Libp2p.Cli.Commands;

/// <summary>
/// <c>p2p perf MULTIADDR [--upload BYTES] [--download BYTES] [--timeout SECONDS]</c>: throughput
/// over <c>/perf/1.0.0</c>, with a progress bar on standard error when a person watches it.
/// </summary>
internal static class PerfCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output, TextWriter error)
    {
        var upload = line.SizeOption("upload", 64 << 20);
        var download = line.SizeOption("download", 64 << 20);
        var timeout = Node.Timeout(line);
        var (address, _) = Node.ParseTarget(line);

        return await Node.DialAsync(line, address, timeout, async (host, peer) =>
        {
            var width = Output.Width(output);
            // The header first, so a person knows what the bar below measures.
            if (!line.Json)
                output.WriteLine(Output.Fit(width, $"perf {peer}", $"perf {Output.ShortPeer(peer)}"));
            var bar = Output.IsTerminal(error) ? new ProgressBar(error, upload + download, Output.Width(error)) : null;
            PerfResult result;
            try
            {
                // No timeout on the transfer: how long it takes is what is measured.
                result = await Node.AttemptAsync($"perf {peer}", host.PerfAsync(peer, upload, download, bar)).ConfigureAwait(false);
            }
            finally
            {
                bar?.Clear();
            }
            if (line.Json)
            {
                Output.Json(output, new Dictionary<string, object?>
                {
                    ["event"] = "perf", ["peer"] = peer.ToString(),
                    ["uploadBytes"] = result.Uploaded, ["uploadMs"] = Output.JsonMs(result.UploadTime), ["uploadBitsPerSecond"] = Math.Round(result.UploadBitsPerSecond),
                    ["downloadBytes"] = result.Downloaded, ["downloadMs"] = Output.JsonMs(result.DownloadTime), ["downloadBitsPerSecond"] = Math.Round(result.DownloadBitsPerSecond),
                });
            }
            else
            {
                output.WriteLine(Output.Fit(width,
                    $"upload: {Output.Size(result.Uploaded)} in {Output.Ms(result.UploadTime)}, {Output.Rate(result.UploadBitsPerSecond)}",
                    $"upload: {Output.Size(result.Uploaded)} in {Output.Duration(result.UploadTime)}, {Output.MiBRate(result.UploadBitsPerSecond)}"));
                output.WriteLine(Output.Fit(width,
                    $"download: {Output.Size(result.Downloaded)} in {Output.Ms(result.DownloadTime)}, {Output.Rate(result.DownloadBitsPerSecond)}",
                    $"download: {Output.Size(result.Downloaded)} in {Output.Duration(result.DownloadTime)}, {Output.MiBRate(result.DownloadBitsPerSecond)}"));
            }
            return 0;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// One line on standard error, redrawn in place at most ten times a second and never wider than
    /// the terminal (a line that wraps leaves a stale row behind each redraw, as <c>\r</c> only
    /// rewinds one row): the bar, the percentage, the rate so far and the time left.
    /// </summary>
    internal sealed class ProgressBar(TextWriter error, long total, int width) : IProgress<PerfProgress>
    {
        private static readonly long Interval = System.Diagnostics.Stopwatch.Frequency / 10;
        private readonly object _gate = new();
        private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();
        private long? _drawn;
        private bool _cleared;

        public void Report(PerfProgress value)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            lock (_gate)
            {
                if (_cleared || now - _drawn < Interval)
                    return;
                _drawn = now;
                error.Write("\r" + Render(value.Uploaded + value.Downloaded, total, System.Diagnostics.Stopwatch.GetElapsedTime(_started, now), width) + "\u001b[K");
                error.Flush();
            }
        }

        public void Clear()
        {
            lock (_gate)
            {
                _cleared = true;
                if (_drawn is not null)
                    error.Write("\r\u001b[K");
                error.Flush();
            }
        }

        /// <summary>
        /// The bar's text for <paramref name="done"/> of <paramref name="total"/> bytes after
        /// <paramref name="elapsed"/>, at most <paramref name="width"/> − 1 characters (the last
        /// column is left free: some terminals wrap as soon as it is written).
        /// </summary>
        internal static string Render(long done, long total, TimeSpan elapsed, int width)
        {
            var fraction = total == 0 ? 1.0 : Math.Clamp((double)done / total, 0, 1);
            var rate = elapsed.TotalSeconds > 0 ? done / elapsed.TotalSeconds : 0;
            var percent = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{fraction * 100,3:0}%");
            var speed = $"{Output.Size((long)rate)}/s";
            var eta = rate > 0 ? $"ETA {Output.Clock(TimeSpan.FromSeconds((total - done) / rate))}" : "ETA --:--";
            var room = width - 1;
            // Parts go, least useful first, until the bar has at least 10 columns.
            string[][] layouts =
            [
                [percent, $"{Output.Size(done)}/{Output.Size(total)}", speed, eta],
                [percent, speed, eta],
                [percent, eta],
                [percent],
            ];
            foreach (var parts in layouts)
            {
                var tail = " " + string.Join("  ", parts);
                var barWidth = room - tail.Length - 2;
                if (barWidth >= 10 || parts.Length == 1)
                {
                    barWidth = Math.Max(0, barWidth);
                    var filled = (int)(barWidth * fraction);
                    var text = $"[{new string('#', filled)}{new string('.', barWidth - filled)}]{tail}";
                    return text.Length <= room ? text : text[..Math.Max(0, room)];
                }
            }
            return "";
        }
    }
}
