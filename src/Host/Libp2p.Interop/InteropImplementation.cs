using System.Diagnostics;
using System.Text.Json;

namespace Libp2p.Interop;

/// <summary>An implementation's harness, as a command that reads the contract's variables.</summary>
/// <param name="Name">How the matrix names it.</param>
/// <param name="Command">The process to start for one side of a test (the variables are added by the runner).</param>
public sealed record InteropImplementation(string Name, Func<InteropSettings, ProcessStartInfo> Command)
{
    /// <summary>Ours: this assembly, run by the same <c>dotnet</c> that runs the caller.</summary>
    public static InteropImplementation Dotnet { get; } = new("dotnet", _ =>
    {
        var start = new ProcessStartInfo(DotnetHost);
        start.ArgumentList.Add(typeof(PingTest).Assembly.Location);
        return start;
    });

    /// <summary>js-libp2p's: <c>harness.mjs</c> in <paramref name="folder"/> (tests/interop/js), on Node.</summary>
    public static InteropImplementation Js(string folder) => new("js", settings =>
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder };
        // Node 20 has a global WebSocket, which js-libp2p dials /ws with, only behind this flag.
        if (settings.Transport == "ws")
            start.ArgumentList.Add("--experimental-websocket");
        start.ArgumentList.Add("harness.mjs");
        return start;
    });

    /// <summary>
    /// The <c>dotnet</c> executable: the one the SDK names in <c>DOTNET_HOST_PATH</c> (set under
    /// <c>dotnet run</c> and <c>dotnet test</c>), this process when it is <c>dotnet</c>, else the one on PATH.
    /// </summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
                return host;
            var self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }
}

/// <summary>The js-libp2p harness in tests/interop/js, and its packages installed from the lock file.</summary>
public static class JsHarness
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    /// <summary>
    /// The folder of <c>harness.mjs</c>: tests/interop/js above <paramref name="start"/> or the
    /// working directory or this assembly.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">None of them is inside the repository.</exception>
    public static string FindFolder(string? start = null)
    {
        foreach (var origin in new[] { start, Environment.CurrentDirectory, AppContext.BaseDirectory }.OfType<string>())
        {
            for (var dir = new DirectoryInfo(origin); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "interop", "js");
                if (File.Exists(Path.Combine(candidate, "harness.mjs")))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/interop/js/harness.mjs not found above the working directory or the harness binary; pass --js DIR");
    }

    /// <summary>
    /// Runs <c>npm ci</c> in <paramref name="folder"/> unless every package that package.json names
    /// is installed. Test projects run in parallel processes, so a machine-wide named mutex (the
    /// one the other interop tests take) keeps two installs from writing at once.
    /// </summary>
    /// <exception cref="InvalidOperationException">npm failed.</exception>
    public static async Task EnsureInstalledAsync(string folder)
    {
        await InstallLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await Task.Run(() =>
            {
                using var mutex = new Mutex(false, "libp2p-akka-interop-npm-ci");
                if (!mutex.WaitOne(TimeSpan.FromMinutes(10)))
                    throw new TimeoutException("another npm ci in tests/interop/js held its lock for 10 minutes");
                try
                {
                    if (Installed(folder))
                        return;
                    var start = new ProcessStartInfo("npm") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                    foreach (var arg in (string[])["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                        start.ArgumentList.Add(arg);
                    using var npm = Process.Start(start) ?? throw new InvalidOperationException("npm did not start");
                    var output = npm.StandardOutput.ReadToEndAsync();
                    var error = npm.StandardError.ReadToEndAsync();
                    if (!npm.WaitForExit(TimeSpan.FromMinutes(5)))
                    {
                        npm.Kill(entireProcessTree: true);
                        throw new InvalidOperationException("npm ci in tests/interop/js ran over 5 minutes");
                    }
                    if (npm.ExitCode != 0)
                        throw new InvalidOperationException($"npm ci in tests/interop/js failed ({npm.ExitCode}): {output.Result}{error.Result}");
                }
                finally
                {
                    mutex.ReleaseMutex();
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static bool Installed(string folder)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "package.json")));
        return manifest.RootElement.GetProperty("dependencies").EnumerateObject()
            .All(d => File.Exists(Path.Combine(folder, "node_modules", d.Name, "package.json")));
    }
}
