using System.Diagnostics.Tracing;

namespace Libp2p.Benchmarks;

/// <summary>
/// What <see cref="ConnectionBenchmarks"/> allocates, by type: the runtime's allocation-tick
/// events (one per ~100 KB allocated, naming the type that crossed the mark) counted over many
/// transfers, so each type's share of the samples is about its share of the bytes. BenchmarkDotNet
/// says how much; this says what, which is where to cut next.
/// </summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project tests/Libp2p.Benchmarks -- --allocation-probe stream adapter 100</c>
/// (reader <c>source</c> or <c>stream</c>, writer <c>sink</c> or <c>adapter</c>, transfers of 16 MiB).
/// </remarks>
internal static class AllocationProbe
{
    public static async Task RunAsync(string reader, bool throughAdapter, int transfers)
    {
        var benchmark = new ConnectionBenchmarks { Reader = reader };
        benchmark.Setup();
        Task<long> Transfer() => throughAdapter ? benchmark.SixteenMiBThroughTheAdapter() : benchmark.SixteenMiBThroughTheSink();
        // Warm: the pools filled, the yamux windows grown, the code at its final tier.
        for (var i = 0; i < 20; i++)
            await Transfer();
        using var ticks = new AllocationTicks();
        GC.Collect();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        ticks.Counting = true;
        for (var i = 0; i < transfers; i++)
            await Transfer();
        ticks.Counting = false;
        var perTransfer = (GC.GetTotalAllocatedBytes(precise: true) - before) / transfers;
        Console.WriteLine($"{perTransfer} bytes allocated per 16 MiB transfer ({perTransfer / 16.0 / 1024:F1} KB per MiB, {perTransfer / (16.0 * 1024 * 1024):P2} of the bytes moved)");
        // What a transfer spends before its first byte (the stream, its ends, the writer's graph).
        before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < transfers; i++)
            await benchmark.NothingThroughTheSink();
        var perStream = (GC.GetTotalAllocatedBytes(precise: true) - before) / transfers;
        Console.WriteLine($"{perStream} bytes allocated per stream opened and closed through the sink with nothing written; the rest, per MiB moved: {(perTransfer - perStream) / 16.0 / 1024:F1} KB ({(perTransfer - perStream) / (16.0 * 1024 * 1024):P2})");
        var samples = ticks.Types.Values.Sum(v => v.Samples);
        foreach (var (type, (count, _)) in ticks.Types.OrderByDescending(t => t.Value.Samples).Take(30))
            Console.WriteLine($"{100.0 * count / samples,5:F1} % {count,6} {type}");
        benchmark.Cleanup();
    }

    private sealed class AllocationTicks : EventListener
    {
        private const EventKeywords GcKeyword = (EventKeywords)0x1;

        public Dictionary<string, (int Samples, long Bytes)> Types { get; } = new();

        public volatile bool Counting;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (!Counting || e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || e.Payload is null || e.PayloadNames is null)
                return;
            var type = (string)e.Payload[e.PayloadNames.IndexOf("TypeName")]!;
            var bytes = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("AllocationAmount64")]);
            // Arrays are told apart by size: a pool's miss and a frame's buffer look alike by type.
            if (type.EndsWith("[]", StringComparison.Ordinal) && e.PayloadNames.IndexOf("ObjectSize") is var sizeAt and >= 0)
                type = $"{type} of {Convert.ToInt64(e.Payload[sizeAt])} bytes";
            lock (Types)
            {
                Types.TryGetValue(type, out var seen);
                Types[type] = (seen.Samples + 1, seen.Bytes + bytes);
            }
        }
    }
}
