BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>The benchmark runner: `dotnet run -c Release --project tests/Libp2p.Benchmarks -- --filter '*'`.</summary>
public partial class Program;
