using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Libp2p.Interop;

/// <summary>
/// A private <c>redis-server</c> (Debian's package) on a free loopback port, with nothing saved to
/// disk, for the length of a test or a matrix run; disposing it stops it.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Ready = "Ready to accept connections";
    private readonly Process _process;
    private readonly Task _drained;

    private RedisServer(Process process, int port, Task drained)
    {
        _process = process;
        Port = port;
        _drained = drained;
    }

    /// <summary>The port it listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, as the contracts' <c>redis_addr</c> / <c>REDIS_ADDR</c> take it.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>
    /// Starts a server and returns once it accepts connections. The port is one the kernel just
    /// handed out; if another process takes it first, the start is tried again on another.
    /// </summary>
    /// <param name="options">More <c>redis-server</c> options, e.g. <c>--notify-keyspace-events KA</c> for a test that awaits a key's change.</param>
    /// <param name="cancellationToken">Gives up waiting for the server.</param>
    /// <exception cref="InvalidOperationException"><c>redis-server</c> is not installed, or did not start within 30 s.</exception>
    public static async Task<RedisServer> StartAsync(IEnumerable<string>? options = null, CancellationToken cancellationToken = default)
    {
        const int attempts = 5;
        var reasons = new List<string>();
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var port = FreePort();
            var start = new ProcessStartInfo("redis-server")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var arg in (string[])["--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""])
                start.ArgumentList.Add(arg);
            foreach (var option in options ?? [])
                start.ArgumentList.Add(option);
            Process process;
            try
            {
                process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
            }
            catch (Win32Exception e)
            {
                throw new InvalidOperationException($"cannot run redis-server ({e.Message}): install Debian's redis-server package", e);
            }
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new List<string>();
            // Read to the end, so its log never fills the pipe and stalls it.
            var drained = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
                {
                    lock (output)
                        output.Add(line);
                    if (line.Contains(Ready, StringComparison.Ordinal))
                        ready.TrySetResult();
                }
                ready.TrySetException(new InvalidOperationException("redis-server exited"));
            }, CancellationToken.None);
            _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                return new RedisServer(process, port, drained);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                string log;
                lock (output)
                    log = string.Join(" | ", output.TakeLast(3));
                process.Dispose();
                reasons.Add(e is TimeoutException ? $"port {port}: not ready within 30 s ({log})" : $"port {port}: {log}");
                if (e is TimeoutException || !log.Contains("already in use", StringComparison.OrdinalIgnoreCase))
                    break;
            }
        }
        throw new InvalidOperationException($"redis-server did not start: {string.Join("; ", reasons)}");
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Stops the server (nothing of it is kept).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        await _drained.ConfigureAwait(false);
        _process.Dispose();
    }
}
