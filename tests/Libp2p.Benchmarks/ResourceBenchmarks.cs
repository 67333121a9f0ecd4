using BenchmarkDotNet.Attributes;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Benchmarks;

/// <summary>
/// One memory reservation and its release through a stream's whole DAG (stream, service, protocol,
/// peer, system), alone and with reservers on every core.
/// </summary>
[MemoryDiagnoser]
public class ResourceBenchmarks
{
    private const int PerThread = 10_000;
    private ResourceManager _manager = null!;
    private StreamManagementScope[] _streams = [];

    [GlobalSetup]
    public void Setup()
    {
        _manager = new ResourceManager(new ResourceLimits { System = new ScopeLimit { Memory = 1L << 40 } });
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        _streams = Enumerable.Range(0, Environment.ProcessorCount).Select(_ =>
        {
            var stream = _manager.OpenStream(peer, Direction.Inbound);
            stream.SetProtocol("/bench/1.0.0");
            stream.SetService("bench");
            return stream;
        }).ToArray();
    }

    [Benchmark]
    public void ReserveAndRelease()
    {
        _streams[0].ReserveMemory(1024, ReservationPriority.High);
        _streams[0].ReleaseMemory(1024);
    }

    [Benchmark(OperationsPerInvoke = PerThread * 2)]
    public void ReserveAndReleaseOnEveryCore() => Parallel.For(0, _streams.Length, i =>
    {
        var stream = _streams[i];
        for (var n = 0; n < PerThread; n++)
        {
            stream.ReserveMemory(1024, ReservationPriority.High);
            stream.ReleaseMemory(1024);
        }
    });
}
