using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;

namespace Libp2p.Benchmarks;

/// <summary>
/// Issue 15: should identify, the peer record, the envelope and the key move from our hand-written
/// protobuf codecs to the code protoc generates? Each pair reads or writes the same bytes into the
/// same types of ours. The readers moved (the shipped <c>Parse</c> methods are the generated side,
/// <see cref="HandWrittenReaders"/> what they replaced); the writers and the key codec stayed
/// (the shipped methods are the hand-written side, <see cref="GeneratedCodecs"/> the other). The
/// identify message is sized like js-libp2p's: 8 listen addresses, 15 protocols, an Ed25519 key, a
/// signed peer record of the same 8 addresses, an observed address and both versions.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ProtobufCodecBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(8192);
    private PrivateKey _key = null!;
    private IdentifyMessage _message = null!;
    private byte[] _identify = [];
    private PeerRecord _record = null!;
    private byte[] _recordBytes = [];
    private SignedEnvelope _envelope = null!;
    private byte[] _envelopeBytes = [];
    private byte[] _keyBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        _key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(_key.PublicKey);
        Multiaddr[] addresses =
        [
            Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"),
            Multiaddr.Parse("/ip4/192.168.1.23/tcp/4001"),
            Multiaddr.Parse("/ip4/192.168.1.23/tcp/4002/ws"),
            Multiaddr.Parse("/ip4/192.168.1.23/udp/4001/quic-v1"),
            Multiaddr.Parse("/ip6/::1/tcp/4001"),
            Multiaddr.Parse("/ip6/2001:db8::23/tcp/4001"),
            Multiaddr.Parse("/ip6/2001:db8::23/udp/4001/quic-v1"),
            Multiaddr.Parse("/dns4/node.example.com/tcp/443/wss"),
        ];
        _record = new PeerRecord(peer, PeerRecord.NextSequence(), addresses);
        _recordBytes = _record.ToBytes();
        _envelope = SignedEnvelope.Seal(_key, PeerRecord.Domain, PeerRecord.PayloadType, _recordBytes);
        _envelopeBytes = _envelope.ToBytes();
        _message = new IdentifyMessage
        {
            ProtocolVersion = "ipfs/0.1.0",
            AgentVersion = "js-libp2p/3.3.11 UserAgent=v20.19.5",
            PublicKey = _key.PublicKey,
            ListenAddrs = addresses,
            ObservedAddr = Multiaddr.Parse("/ip4/198.51.100.3/tcp/53012"),
            Protocols =
            [
                "/floodsub/1.0.0", "/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/kad/1.0.0", "/ipfs/ping/1.0.0",
                "/libp2p/autonat/1.0.0", "/libp2p/autonat/2/dial-back", "/libp2p/autonat/2/dial-request",
                "/libp2p/circuit/relay/0.2.0/hop", "/libp2p/circuit/relay/0.2.0/stop", "/libp2p/dcutr",
                "/libp2p/fetch/0.0.1", "/meshsub/1.0.0", "/meshsub/1.1.0", "/meshsub/1.2.0",
            ],
            SignedPeerRecord = _envelopeBytes,
        };
        _identify = _message.ToBytes();
        _keyBytes = _key.PublicKey.ToProtobuf();
        if (!HandWrittenReaders.ParseIdentify(_identify).Equals(IdentifyMessage.Parse(_identify))
            || HandWrittenReaders.ParsePeerRecord(_recordBytes) != PeerRecord.Parse(_recordBytes)
            || !GeneratedCodecs.PeerRecordToBytes(_record).AsSpan().SequenceEqual(_recordBytes)
            || !GeneratedCodecs.EnvelopeToBytes(_envelope).AsSpan().SequenceEqual(_envelopeBytes)
            || !GeneratedCodecs.EncodeKey(_key.PublicKey.Type, _key.PublicKey.Raw).AsSpan().SequenceEqual(_keyBytes))
            throw new InvalidOperationException("the generated and the hand-written codecs disagree on the benchmark's messages");
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("identify parse")]
    public IdentifyMessage IdentifyParse_HandWritten() => HandWrittenReaders.ParseIdentify(_identify);

    [Benchmark, BenchmarkCategory("identify parse")]
    public IdentifyMessage IdentifyParse_Generated() => IdentifyMessage.Parse(_identify);

    [Benchmark, BenchmarkCategory("identify parse")]
    public object IdentifyParse_GeneratedMessageOnly() => Protocols.Identify.Pb.Identify.Parser.ParseFrom(_identify);

    [Benchmark(Baseline = true), BenchmarkCategory("identify write")]
    public int IdentifyWrite_HandWritten()
    {
        _output.ResetWrittenCount();
        _message.WriteDelimited(_output);
        return _output.WrittenCount;
    }

    [Benchmark, BenchmarkCategory("identify write")]
    public int IdentifyWrite_Generated()
    {
        _output.ResetWrittenCount();
        GeneratedCodecs.WriteIdentifyDelimited(_message, _output);
        return _output.WrittenCount;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("record decode")]
    public PeerRecord RecordDecode_HandWritten() => HandWrittenReaders.ParsePeerRecord(HandWrittenReaders.DecodeEnvelope(_envelopeBytes).Payload);

    [Benchmark, BenchmarkCategory("record decode")]
    public PeerRecord RecordDecode_Generated() => PeerRecord.Parse(SignedEnvelope.Decode(_envelopeBytes).Payload.Span);

    [Benchmark(Baseline = true), BenchmarkCategory("record write")]
    public int RecordWrite_HandWritten() => _record.ToBytes().Length + _envelope.ToBytes().Length;

    [Benchmark, BenchmarkCategory("record write")]
    public int RecordWrite_Generated() => GeneratedCodecs.PeerRecordToBytes(_record).Length + GeneratedCodecs.EnvelopeToBytes(_envelope).Length;

    [Benchmark(Baseline = true), BenchmarkCategory("key decode")]
    public byte[] KeyDecode_HandWritten() => KeyProtobuf.Decode(_keyBytes, "public key").Data;

    [Benchmark, BenchmarkCategory("key decode")]
    public byte[] KeyDecode_Generated() => GeneratedCodecs.DecodeKey(_keyBytes).Data;

    [Benchmark(Baseline = true), BenchmarkCategory("key encode")]
    public byte[] KeyEncode_HandWritten() => KeyProtobuf.Encode(_key.PublicKey.Type, _key.PublicKey.Raw.Span);

    [Benchmark, BenchmarkCategory("key encode")]
    public byte[] KeyEncode_Generated() => GeneratedCodecs.EncodeKey(_key.PublicKey.Type, _key.PublicKey.Raw);
}
