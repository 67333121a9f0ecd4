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
            var bar = Output.IsTerminal(error) ? new ProgressBar(error, upload + download) : null;
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
                output.WriteLine($"perf {peer}");
                output.WriteLine($"upload: {Output.Size(result.Uploaded)} in {Output.Ms(result.UploadTime)}, {Output.Rate(result.UploadBitsPerSecond)}");
                output.WriteLine($"download: {Output.Size(result.Downloaded)} in {Output.Ms(result.DownloadTime)}, {Output.Rate(result.DownloadBitsPerSecond)}");
            }
            return 0;
        }).ConfigureAwait(false);
    }

    /// <summary>One line redrawn in place with a carriage return; reports come at most every MiB.</summary>
    private sealed class ProgressBar(TextWriter error, long total) : IProgress<PerfProgress>
    {
        private const int Width = 30;
        private readonly object _gate = new();

        public void Report(PerfProgress value)
        {
            var done = value.Uploaded + value.Downloaded;
            var filled = total == 0 ? Width : (int)(Width * Math.Min(1.0, (double)done / total));
            lock (_gate)
                error.Write($"\r[{new string('#', filled)}{new string(' ', Width - filled)}] up {Output.Size(value.Uploaded)}, down {Output.Size(value.Downloaded)}   ");
        }

        public void Clear()
        {
            lock (_gate)
                error.Write("\r\u001b[K");
        }
    }
}
