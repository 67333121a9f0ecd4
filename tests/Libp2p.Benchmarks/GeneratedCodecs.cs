using System.Buffers;
using Google.Protobuf;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;

namespace Libp2p.Benchmarks;

/// <summary>
/// What our hand-written writers (identify, peer record, envelope) and key codec would be on the
/// code protoc generates from the specs' <c>.proto</c> files: the other side of
/// <see cref="ProtobufCodecBenchmarks"/>. (The readers moved to generated code; see
/// <see cref="HandWrittenReaders"/> for what they replaced.) Also linked into
/// Libp2p.Protocols.Tests, whose properties check it agrees with ours.
/// </summary>
internal static class GeneratedCodecs
{
    public static Protocols.Identify.Pb.Identify ToGenerated(IdentifyMessage message)
    {
        var pb = new Protocols.Identify.Pb.Identify();
        if (message.PublicKey is not null)
            pb.PublicKey = UnsafeByteOperations.UnsafeWrap(message.PublicKey.Protobuf);
        foreach (var address in message.ListenAddrs)
            pb.ListenAddrs.Add(ByteString.CopyFrom(address.Bytes));
        foreach (var protocol in message.Protocols)
            pb.Protocols.Add(ByteString.CopyFromUtf8(protocol));
        if (message.ObservedAddr is not null)
            pb.ObservedAddr = ByteString.CopyFrom(message.ObservedAddr.Bytes);
        if (message.ProtocolVersion is not null)
            pb.ProtocolVersion = ByteString.CopyFromUtf8(message.ProtocolVersion);
        if (message.AgentVersion is not null)
            pb.AgentVersion = ByteString.CopyFromUtf8(message.AgentVersion);
        if (message.SignedPeerRecord is { } record)
            pb.SignedPeerRecord = UnsafeByteOperations.UnsafeWrap(record);
        return pb;
    }

    public static void WriteIdentifyDelimited(IdentifyMessage message, IBufferWriter<byte> output)
    {
        var pb = ToGenerated(message);
        Varint.Write(output, (ulong)pb.CalculateSize());
        pb.WriteTo(output);
    }

    public static byte[] PeerRecordToBytes(PeerRecord record)
    {
        var pb = new Protocols.Records.Pb.PeerRecord { PeerId = ByteString.CopyFrom(record.Peer.Multihash.Bytes), Seq = record.Sequence };
        foreach (var address in record.Addresses)
            pb.Addresses.Add(new Protocols.Records.Pb.PeerRecord.Types.AddressInfo { Multiaddr = ByteString.CopyFrom(address.Bytes) });
        return pb.ToByteArray();
    }

    public static byte[] EnvelopeToBytes(SignedEnvelope envelope)
    {
        var pb = new Protocols.Records.Pb.Envelope
        {
            PublicKey = PublicKeyToGenerated(envelope.PublicKey).ToByteString(),
            PayloadType = UnsafeByteOperations.UnsafeWrap(envelope.PayloadType),
            Payload = UnsafeByteOperations.UnsafeWrap(envelope.Payload),
            Signature = UnsafeByteOperations.UnsafeWrap(envelope.Signature),
        };
        return pb.ToByteArray();
    }

    public static (KeyType Type, byte[] Data) DecodeKey(ReadOnlySpan<byte> bytes)
    {
        var pb = Parse(Protocols.Crypto.Pb.PublicKey.Parser, bytes, "public key");
        return ((KeyType)pb.Type, pb.Data.ToByteArray());
    }

    public static byte[] EncodeKey(KeyType type, ReadOnlyMemory<byte> data) =>
        new Protocols.Crypto.Pb.PublicKey { Type = (Protocols.Crypto.Pb.KeyType)type, Data = UnsafeByteOperations.UnsafeWrap(data) }.ToByteArray();

    private static Protocols.Crypto.Pb.PublicKey PublicKeyToGenerated(PublicKey key) =>
        new() { Type = (Protocols.Crypto.Pb.KeyType)key.Type, Data = UnsafeByteOperations.UnsafeWrap(key.Raw) };

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes, string what)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new FormatException($"{what}: {e.Message}", e);
        }
    }
}
