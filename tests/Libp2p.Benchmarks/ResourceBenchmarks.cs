using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Benchmarks;

/// <summary>
/// One memory reservation approved by the scope actors through a stream's whole path (the stream,
/// system, peer, protocol, service) and given back; and a stream's scope opened and closed.
/// </summary>
[MemoryDiagnoser]
public class ResourceBenchmarks
{
    private ActorSystem _system = null!;
    private ResourceManager _manager = null!;
    private StreamManagementScope _stream = null!;
    private PeerId _peer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("bench", "akka.loglevel = WARNING");
        _manager = new ResourceManager(new ResourceLimits { System = new ScopeLimit { Memory = 1L << 40 } });
        _manager.Start(_system);
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        _peer = PeerId.FromPublicKey(key.PublicKey);
        _stream = _manager.OpenStreamAsync(_peer, Direction.Inbound).GetAwaiter().GetResult();
        _stream.SetProtocolAsync("/bench/1.0.0").GetAwaiter().GetResult();
        _stream.SetServiceAsync("bench").GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait();

    [Benchmark]
    public async Task ReserveAndRelease()
    {
        await _stream.ReserveMemoryAsync(1024, ReservationPriority.High);
        _stream.ReleaseMemory(1024);
    }

    [Benchmark]
    public async Task OpenStreamScope() => (await _manager.OpenStreamAsync(_peer, Direction.Outbound)).Done();
}
