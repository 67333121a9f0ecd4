// --allocation-probe READER WRITER TRANSFERS: what the byte path allocates, by type (AllocationProbe).
if (args.Length == 4 && args[0] == "--allocation-probe")
{
    await Libp2p.Benchmarks.AllocationProbe.RunAsync(args[1], args[2] == "adapter", int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
    return;
}
BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>The benchmark runner: `dotnet run -c Release --project tests/Libp2p.Benchmarks -- --filter '*'`.</summary>
public partial class Program;
