using System.Diagnostics;

namespace Libp2p.Interop;

/// <summary>A harness process with its output collected as it comes (so a full pipe never stalls it).</summary>
internal sealed class HarnessProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _error;

    private HarnessProcess(Process process)
    {
        _process = process;
        _output = process.StandardOutput.ReadToEndAsync();
        _error = process.StandardError.ReadToEndAsync();
        Exited = process.WaitForExitAsync();
    }

    public Task Exited { get; }

    public int ExitCode => _process.HasExited ? _process.ExitCode : -1;

    public static HarnessProcess Start(InteropImplementation implementation, InteropSettings settings)
    {
        var start = implementation.Command(settings);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        // Only the contract's variables decide what the harness does: none of the other
        // contract's, which would be read first, may leak in from the caller's environment.
        foreach (var name in (string[])["IS_DIALER", "TEST_KEY", "REDIS_ADDR", "TRANSPORT", "SECURE_CHANNEL", "MUXER", "LISTENER_IP",
                     "transport", "muxer", "security", "is_dialer", "ip", "redis_addr", "test_timeout_seconds"])
            start.Environment.Remove(name);
        foreach (var (name, value) in settings.ToEnvironment())
            start.Environment[name] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        process.StandardInput.Close();
        return new HarnessProcess(process);
    }

    public async Task StopAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await Exited.ConfigureAwait(false);
    }

    /// <summary>Sends SIGTERM, as docker stops a container, and waits for the process to end.</summary>
    public async Task TerminateAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", $"{_process.Id}"]) { UseShellExecute = false })
                ?? throw new InvalidOperationException("kill did not start");
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }
        await Exited.ConfigureAwait(false);
    }

    public async Task<string> OutputAsync()
    {
        await StopAsync().ConfigureAwait(false);
        return await _output.ConfigureAwait(false);
    }

    /// <summary>The last lines the process wrote to stderr, on one line.</summary>
    public async Task<string> ErrorTailAsync()
    {
        await StopAsync().ConfigureAwait(false);
        var lines = (await _error.ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(nothing on stderr)" : string.Join(" | ", lines.TakeLast(4));
    }

    public void Dispose() => _process.Dispose();
}
