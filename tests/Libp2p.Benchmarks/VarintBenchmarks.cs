using BenchmarkDotNet.Attributes;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Benchmarks;

/// <summary>The unsigned varint codec over a spread of lengths (1, 2, 4 and 9 bytes).</summary>
[MemoryDiagnoser]
public class VarintBenchmarks
{
    private static readonly ulong[] Values = [1, 300, 200_000_000, Varint.MaxValue];
    private readonly byte[] _buffer = new byte[Varint.MaxLength * 4];
    private int _encodedLength;

    [GlobalSetup]
    public void Setup() => _encodedLength = Encode();

    [Benchmark(OperationsPerInvoke = 4)]
    public int Encode()
    {
        var offset = 0;
        foreach (var value in Values)
            offset += Varint.Write(value, _buffer.AsSpan(offset));
        return offset;
    }

    [Benchmark(OperationsPerInvoke = 4)]
    public ulong Decode()
    {
        ulong sum = 0;
        var span = _buffer.AsSpan(0, _encodedLength);
        while (!span.IsEmpty)
        {
            sum += Varint.Read(span, out var consumed);
            span = span[consumed..];
        }
        return sum;
    }
}
