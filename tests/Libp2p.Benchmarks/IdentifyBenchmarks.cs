using System.Buffers;
using BenchmarkDotNet.Attributes;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;

namespace Libp2p.Benchmarks;

/// <summary>
/// What each new connection costs in identify: encoding our message, decoding the peer's, and
/// opening (verifying) its signed peer record; sealing is paid once per address set.
/// </summary>
[MemoryDiagnoser]
public class IdentifyBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private PrivateKey _key = null!;
    private IdentifyMessage _message = null!;
    private byte[] _encoded = [];
    private byte[] _envelope = [];
    private PeerRecord _record = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = PrivateKey.Generate(KeyType.Ed25519);
        var addresses = new[] { Multiaddr.Parse("/ip4/192.0.2.7/tcp/4001"), Multiaddr.Parse("/ip6/2001:db8::7/tcp/4001") };
        _record = new PeerRecord(PeerId.FromPublicKey(_key.PublicKey), 1, addresses);
        _envelope = _record.Seal(_key);
        _message = new IdentifyMessage
        {
            ProtocolVersion = "ipfs/0.1.0",
            AgentVersion = "libp2p-dotnet/0.1.0",
            PublicKey = _key.PublicKey,
            ListenAddrs = addresses,
            ObservedAddr = Multiaddr.Parse("/ip4/198.51.100.3/tcp/53012"),
            Protocols = ["/echo/1.0.0", "/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0", "/perf/1.0.0"],
            SignedPeerRecord = _envelope,
        };
        _encoded = _message.ToBytes();
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark]
    public int Encode()
    {
        _output.ResetWrittenCount();
        _message.WriteDelimited(_output);
        return _output.WrittenCount;
    }

    [Benchmark]
    public IdentifyMessage Decode() => IdentifyMessage.Parse(_encoded);

    [Benchmark]
    public PeerRecord OpenSignedRecord() => PeerRecord.FromEnvelope(_envelope).Record;

    [Benchmark]
    public byte[] SealRecord() => _record.Seal(_key);
}
