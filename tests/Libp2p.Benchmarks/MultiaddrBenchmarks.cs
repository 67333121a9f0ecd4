using BenchmarkDotNet.Attributes;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Benchmarks;

/// <summary>The multiaddr codec on the two shapes a node handles most: TCP with a peer ID, and QUIC over IPv6.</summary>
[MemoryDiagnoser]
public class MultiaddrBenchmarks
{
    [Params("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV", "/ip6/2001:db8::1/udp/4001/quic-v1")]
    public string Text { get; set; } = "";

    private Multiaddr _address = Multiaddr.Empty;
    private byte[] _bytes = [];

    [GlobalSetup]
    public void Setup()
    {
        _address = Multiaddr.Parse(Text);
        _bytes = _address.ToBytes();
    }

    [Benchmark]
    public Multiaddr Parse() => Multiaddr.Parse(Text);

    [Benchmark]
    public string Format() => Multiaddr.FromBytes(_bytes).ToString();

    [Benchmark]
    public Multiaddr FromBytes() => Multiaddr.FromBytes(_bytes);

    [Benchmark]
    public byte[] ToBytes() => _address.ToBytes();
}
