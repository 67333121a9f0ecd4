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
/// Our identify, peer record, envelope and key types read and written through the code protoc
/// generates from the specs' <c>.proto</c> files, with the hand-written codecs' rules (bad
/// multiaddrs dropped, a bad key an error): what the codecs would be if they moved to generated
/// code. Also linked into Libp2p.Protocols.Tests, whose properties check it agrees with ours.
/// </summary>
internal static class GeneratedCodecs
{
    public static IdentifyMessage ParseIdentify(ReadOnlySpan<byte> bytes)
    {
        var pb = Parse(Protocols.Identify.Pb.Identify.Parser, bytes, "identify message");
        var listenAddrs = new List<Multiaddr>(pb.ListenAddrs.Count);
        foreach (var address in pb.ListenAddrs)
        {
            if (Multiaddr.TryFromBytes(address.Span, out var parsed))
                listenAddrs.Add(parsed);
        }
        return new IdentifyMessage
        {
            ProtocolVersion = pb.HasProtocolVersion ? pb.ProtocolVersion : null,
            AgentVersion = pb.HasAgentVersion ? pb.AgentVersion : null,
            PublicKey = pb.HasPublicKey ? PublicKey.FromProtobuf(pb.PublicKey.Span) : null,
            ListenAddrs = listenAddrs,
            ObservedAddr = pb.HasObservedAddr && Multiaddr.TryFromBytes(pb.ObservedAddr.Span, out var observed) ? observed : null,
            Protocols = pb.Protocols,
            SignedPeerRecord = pb.HasSignedPeerRecord ? pb.SignedPeerRecord.Memory : ReadOnlyMemory<byte>.Empty,
        };
    }

    public static Protocols.Identify.Pb.Identify ToGenerated(IdentifyMessage message)
    {
        var pb = new Protocols.Identify.Pb.Identify();
        if (message.PublicKey is not null)
            pb.PublicKey = UnsafeByteOperations.UnsafeWrap(message.PublicKey.Protobuf);
        foreach (var address in message.ListenAddrs)
            pb.ListenAddrs.Add(ByteString.CopyFrom(address.Bytes));
        pb.Protocols.AddRange(message.Protocols);
        if (message.ObservedAddr is not null)
            pb.ObservedAddr = ByteString.CopyFrom(message.ObservedAddr.Bytes);
        if (message.ProtocolVersion is not null)
            pb.ProtocolVersion = message.ProtocolVersion;
        if (message.AgentVersion is not null)
            pb.AgentVersion = message.AgentVersion;
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

    public static PeerRecord ParsePeerRecord(ReadOnlySpan<byte> bytes)
    {
        var pb = Parse(Protocols.Records.Pb.PeerRecord.Parser, bytes, "peer record");
        if (pb.PeerId.IsEmpty)
            throw new FormatException("peer record: the peer_id field is missing");
        var addresses = new List<Multiaddr>(pb.Addresses.Count);
        foreach (var info in pb.Addresses)
        {
            if (Multiaddr.TryFromBytes(info.Multiaddr.Span, out var parsed))
                addresses.Add(parsed);
        }
        return new PeerRecord(PeerId.FromBytes(pb.PeerId.Span), pb.Seq, addresses);
    }

    public static byte[] PeerRecordToBytes(PeerRecord record)
    {
        var pb = new Protocols.Records.Pb.PeerRecord { PeerId = ByteString.CopyFrom(record.Peer.Multihash.Bytes), Seq = record.Sequence };
        foreach (var address in record.Addresses)
            pb.Addresses.Add(new Protocols.Records.Pb.PeerRecord.Types.AddressInfo { Multiaddr = ByteString.CopyFrom(address.Bytes) });
        return pb.ToByteArray();
    }

    /// <summary>The envelope's key, type and payload, its signature not checked (as <see cref="SignedEnvelope.Decode"/>).</summary>
    public static (PublicKey Key, ReadOnlyMemory<byte> PayloadType, ReadOnlyMemory<byte> Payload, ReadOnlyMemory<byte> Signature) DecodeEnvelope(ReadOnlySpan<byte> bytes)
    {
        var pb = Parse(Protocols.Records.Pb.Envelope.Parser, bytes, "signed envelope");
        if (pb.PublicKey is null)
            throw new FormatException("signed envelope: the public_key field is missing");
        var key = PublicKey.FromRaw((KeyType)pb.PublicKey.Type, pb.PublicKey.Data.Span);
        return (key, pb.PayloadType.Memory, pb.Payload.Memory, pb.Signature.Memory);
    }

    public static byte[] EnvelopeToBytes(SignedEnvelope envelope)
    {
        var pb = new Protocols.Records.Pb.Envelope
        {
            PublicKey = PublicKeyToGenerated(envelope.PublicKey),
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
