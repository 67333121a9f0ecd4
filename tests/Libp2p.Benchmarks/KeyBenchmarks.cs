using BenchmarkDotNet.Attributes;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;

namespace Libp2p.Benchmarks;

/// <summary>Signing and verifying a Noise-handshake-sized payload with each key type.</summary>
[MemoryDiagnoser]
public class KeyBenchmarks
{
    private static readonly byte[] Message = new byte[56];

    [Params(KeyType.Ed25519, KeyType.Secp256k1, KeyType.ECDSA, KeyType.RSA)]
    public KeyType Type { get; set; }

    private PrivateKey _key = null!;
    private byte[] _signature = [];

    [GlobalSetup]
    public void Setup()
    {
        _key = PrivateKey.Generate(Type);
        _signature = _key.Sign(Message);
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark]
    public byte[] Sign() => _key.Sign(Message);

    [Benchmark]
    public bool Verify() => _key.PublicKey.Verify(Message, _signature);

    [Benchmark]
    public PeerId PeerIdOfKey() => PeerId.FromPublicKey(_key.PublicKey);
}
