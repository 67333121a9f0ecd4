using System.Diagnostics;

namespace Libp2p.Cli.Tests;

/// <summary>Runs the built <c>p2p</c> tool as a separate process, as a user would.</summary>
internal static class P2pProcess
{
    private static readonly string ToolPath = Path.Combine(AppContext.BaseDirectory, "p2p.dll");

    public sealed record Result(int ExitCode, string[] Output, string[] Error);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ToolPath);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("p2p did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, Lines(await output), Lines(await error));
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
