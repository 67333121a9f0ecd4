using System.Diagnostics;

namespace Libp2p.Cli.Tests.Netns;

/// <summary>
/// The network-namespace testbed of <c>tests/netns/testbed.sh</c>, built once per test class and
/// torn down after it: two hosts (<c>a</c>, <c>b</c>) behind NAT routers (<c>ra</c>, <c>rb</c>) that
/// drop unsolicited inbound traffic, and a public <c>relay</c>. Tests use <see cref="NetnsFactAttribute"/>,
/// which skips them, saying why, where the testbed cannot run (not root, no <c>ip netns</c>, no NAT).
/// </summary>
public sealed class NetnsTestbed : IAsyncLifetime
{
    private static readonly Lazy<(string? Unavailable, bool Netem)> Capabilities = new(Probe);

    /// <summary>Null when the testbed can run here; otherwise why not.</summary>
    public static string? Unavailable => Capabilities.Value.Unavailable;

    /// <summary>Whether the kernel has tc netem (delay); without it, faults are loss only.</summary>
    public static bool HasNetem => Capabilities.Value.Netem;

    /// <summary>The testbed's name: its namespaces are <c>NAME-a</c>, <c>NAME-relay</c>, ….</summary>
    // Unique within the process (test classes run in parallel, each with its own testbed) and,
    // through the process ID, apart from another run's; at most 8 characters, as the script wants.
    public string Name { get; } = $"l2p{Environment.ProcessId & 0xFFF:x3}{Interlocked.Increment(ref s_testbeds) & 0xFF:x2}";

    private static int s_testbeds;

    /// <summary>What <c>up</c> printed: namespaces and addresses (<c>A_NS</c>, <c>RELAY_ADDR</c>, …).</summary>
    public IReadOnlyDictionary<string, string> Vars { get; private set; } = new Dictionary<string, string>();

    /// <summary>The namespace of <paramref name="node"/> (<c>a</c>, <c>b</c>, <c>ra</c>, <c>rb</c>, <c>relay</c>).</summary>
    public string Namespace(string node) => $"{Name}-{node}";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (Unavailable is not null)
            return;
        var (exit, output) = await ScriptAsync("up", Name);
        if (exit != 0)
        {
            await ScriptAsync("down", Name);
            throw new InvalidOperationException($"the netns testbed did not come up: {string.Join('\n', output)}");
        }
        Vars = output.Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Unavailable is null)
            await ScriptAsync("down", Name);
    }

    /// <summary>Delay and loss on what leaves <paramref name="device"/> in <paramref name="node"/>'s namespace; returns the script's FAULT line, which says what was applied.</summary>
    public async Task<string> FaultAsync(string node, string device, int delayMs, double lossPercent)
    {
        var (exit, output) = await ScriptAsync("fault", Name, node, device, delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            lossPercent.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return exit == 0 ? output.Single(l => l.StartsWith("FAULT", StringComparison.Ordinal)) : throw new InvalidOperationException(string.Join('\n', output));
    }

    /// <summary>Drops everything through <paramref name="device"/> in <paramref name="node"/>'s namespace both ways, silently (no FIN, no RST).</summary>
    public Task CutAsync(string node, string device) => RunAsync("cut", node, device);

    /// <summary>Takes a <see cref="CutAsync"/> away.</summary>
    public Task HealAsync(string node, string device) => RunAsync("heal", node, device);

    private async Task RunAsync(string command, string node, string device)
    {
        var (exit, output) = await ScriptAsync(command, Name, node, device);
        if (exit != 0)
            throw new InvalidOperationException($"testbed.sh {command} failed: {string.Join('\n', output)}");
    }

    /// <summary>How many packets the fault on <paramref name="device"/> in <paramref name="node"/>'s namespace dropped so far.</summary>
    public async Task<long> DropsAsync(string node, string device)
    {
        var (exit, output) = await ScriptAsync("drops", Name, node, device);
        return exit == 0 && output.Length > 0 && long.TryParse(output[^1], System.Globalization.CultureInfo.InvariantCulture, out var drops)
            ? drops
            : throw new InvalidOperationException(string.Join('\n', output));
    }

    private static (string?, bool) Probe()
    {
        if (!OperatingSystem.IsLinux())
            return ("the netns testbed needs Linux network namespaces", false);
        var (exit, output) = ScriptAsync("check").GetAwaiter().GetResult();
        if (exit != 0)
            return ($"the netns testbed cannot run here: {string.Join("; ", output)}", false);
        return (null, output.Contains("netem yes"));
    }

    private static string Script { get; } = FindScript();

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "netns", "testbed.sh");
            if (File.Exists(candidate))
                return candidate;
        }
        return "";
    }

    private static async Task<(int Exit, string[] Output)> ScriptAsync(params string[] args)
    {
        if (Script.Length == 0)
            return (1, ["tests/netns/testbed.sh was not found above the test's folder"]);
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Script);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        var lines = ((await output) + (await error)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (process.ExitCode, lines);
    }
}

/// <summary>A test on the netns testbed: skipped, with the reason, where the testbed cannot run.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    /// <summary>Asks the testbed whether it can run here.</summary>
    public NetnsFactAttribute()
    {
        if (NetnsTestbed.Unavailable is { } reason)
            Skip = reason;
    }
}
