using System.Diagnostics;

namespace Libp2p.Protocols.Tests.Interop;

/// <summary>
/// The js-libp2p peer of the interop tests (tests/interop/js/node.mjs), installed from the pinned
/// lock file on first use. A listener runs until disposed; a dialer runs one action to completion.
/// </summary>
public sealed class JsPeer : IAsyncDisposable
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static bool _installed;
    private readonly Process _process;

    private JsPeer(Process process, string address)
    {
        _process = process;
        Address = address;
    }

    /// <summary>The listener's full address, /p2p/ included.</summary>
    public string Address { get; }

    public static string Folder { get; } = FindFolder();

    private static string FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "interop", "js");
            if (File.Exists(Path.Combine(candidate, "node.mjs")))
                return candidate;
        }
        throw new DirectoryNotFoundException("tests/interop/js not found above the test binaries");
    }

    /// <summary>
    /// Runs <c>npm ci</c> when the pinned packages are not installed. Test projects run in
    /// parallel processes, so a machine-wide named mutex keeps two installs from writing at once.
    /// </summary>
    public static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (_installed)
                return;
            await Task.Run(() =>
            {
                using var mutex = new Mutex(false, "libp2p-akka-interop-npm-ci");
                mutex.WaitOne(TimeSpan.FromMinutes(10));
                try
                {
                    if (Installed())
                        return;
                    var (exit, output) = RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], TimeSpan.FromMinutes(5)).GetAwaiter().GetResult();
                    if (exit != 0)
                        throw new InvalidOperationException($"npm ci failed ({exit}): {string.Join('\n', output)}");
                }
                finally
                {
                    mutex.ReleaseMutex();
                }
            });
            _installed = true;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    /// <summary>Whether every dependency package.json pins is in node_modules (a dependency added later triggers a new install).</summary>
    private static bool Installed()
    {
        using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "package.json")));
        return manifest.RootElement.GetProperty("dependencies").EnumerateObject()
            .All(d => File.Exists(Path.Combine(Folder, "node_modules", d.Name, "package.json")));
    }

    /// <summary>Node's options for <paramref name="transport"/>: Node 20 has a global WebSocket, which a js dialer of /ws needs, only behind a flag.</summary>
    private static string[] NodeOptions(string transport) => transport is "ws" or "wss" ? ["--experimental-websocket"] : [];

    /// <summary>Starts a js listener speaking only <paramref name="muxer"/> and <paramref name="security"/>, on <paramref name="transport"/>.</summary>
    /// <param name="muxer">yamux or mplex.</param>
    /// <param name="transport">tcp, ws, or wss (then <paramref name="options"/> has <c>--cert PEM --key PEM</c>).</param>
    /// <param name="security">noise or tls: the connection's security, over any transport (inside wss too).</param>
    /// <param name="options">More options for node.mjs.</param>
    public static async Task<JsPeer> ListenAsync(string muxer, string transport = "tcp", string security = "noise", params string[] options)
    {
        await EnsureInstalledAsync();
        var process = Start("node", [.. NodeOptions(transport), "node.mjs", "listen", "--muxer", muxer, "--transport", transport, "--security", security, .. options]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("LISTEN ", StringComparison.Ordinal))
                return new JsPeer(process, line["LISTEN ".Length..].Trim());
            if (line.StartsWith("ERROR", StringComparison.Ordinal))
                break;
        }
        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException($"the js listener did not start: {await process.StandardError.ReadToEndAsync()}");
    }

    /// <summary>Runs the js dialer against <paramref name="address"/>; returns its exit code and output lines.</summary>
    public static Task<(int Exit, string[] Output)> DialAsync(string address, string muxer, params string[] action) =>
        DialAsync(address, muxer, new Dictionary<string, string>(), action);

    /// <summary>As <see cref="DialAsync(string, string, string[])"/>, with <paramref name="environment"/> set for node (e.g. <c>NODE_EXTRA_CA_CERTS</c>).</summary>
    public static async Task<(int Exit, string[] Output)> DialAsync(string address, string muxer, IReadOnlyDictionary<string, string> environment, params string[] action)
    {
        await EnsureInstalledAsync();
        var transport = address.Contains("/ws", StringComparison.Ordinal) || address.Contains("/wss", StringComparison.Ordinal) ? "ws" : "tcp";
        return await RunAsync("node", [.. NodeOptions(transport), "node.mjs", "dial", address, .. action, "--muxer", muxer], TimeSpan.FromMinutes(3), environment);
    }

    private static Process Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = Folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
    }

    private static async Task<(int, string[])> RunAsync(string file, IEnumerable<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(file, args, environment);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {limit}");
        }
        var lines = (await output + await error).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (process.ExitCode, lines);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
