using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;

namespace Libp2p.Benchmarks;

/// <summary>
/// The hand-written readers of identify, the peer record and the envelope as they were before
/// issue 15 moved them to generated code, kept as the baseline of <see cref="ProtobufCodecBenchmarks"/>
/// so the figures in docs/benchmarks.md can be reproduced. Not used by the libraries.
/// </summary>
internal static class HandWrittenReaders
{
    public static IdentifyMessage ParseIdentify(ReadOnlySpan<byte> bytes)
    {
        string? protocolVersion = null, agentVersion = null;
        PublicKey? publicKey = null;
        Multiaddr? observedAddr = null;
        byte[]? signedPeerRecord = null;
        var listenAddrs = new List<Multiaddr>();
        var protocols = new List<string>();
        var reader = new ProtobufReader(bytes, "identify message");
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    var key = reader.ReadBytes(field, wire, "publicKey");
                    try
                    {
                        publicKey = PublicKey.FromProtobuf(key);
                    }
                    catch (FormatException e)
                    {
                        throw new FormatException($"identify message: field 1 (publicKey) is not a valid public key: {e.Message}", e);
                    }
                    break;
                case 2:
                    if (Multiaddr.TryFromBytes(reader.ReadBytes(field, wire, "listenAddrs"), out var listenAddr))
                        listenAddrs.Add(listenAddr);
                    break;
                case 3:
                    protocols.Add(reader.ReadString(field, wire, "protocols"));
                    break;
                case 4:
                    observedAddr = Multiaddr.TryFromBytes(reader.ReadBytes(field, wire, "observedAddr"), out var observed) ? observed : null;
                    break;
                case 5:
                    protocolVersion = reader.ReadString(field, wire, "protocolVersion");
                    break;
                case 6:
                    agentVersion = reader.ReadString(field, wire, "agentVersion");
                    break;
                case 8:
                    signedPeerRecord = reader.ReadBytes(field, wire, "signedPeerRecord").ToArray();
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }
        return new IdentifyMessage
        {
            ProtocolVersion = protocolVersion,
            AgentVersion = agentVersion,
            PublicKey = publicKey,
            ListenAddrs = listenAddrs,
            ObservedAddr = observedAddr,
            Protocols = protocols,
            SignedPeerRecord = signedPeerRecord ?? ReadOnlyMemory<byte>.Empty,
        };
    }

    public static PeerRecord ParsePeerRecord(ReadOnlySpan<byte> bytes)
    {
        PeerId? peer = null;
        ulong sequence = 0;
        var addresses = new List<Multiaddr>();
        var reader = new ProtobufReader(bytes, "peer record");
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    var id = reader.ReadBytes(field, wire, "peer_id");
                    try
                    {
                        peer = PeerId.FromBytes(id);
                    }
                    catch (FormatException e)
                    {
                        throw new FormatException($"peer record: field 1 (peer_id) is not a valid peer ID: {e.Message}", e);
                    }
                    break;
                case 2:
                    sequence = reader.ReadVarint(field, wire, "seq");
                    break;
                case 3:
                    if (ReadAddressInfo(reader.ReadBytes(field, wire, "addresses")) is { } address)
                        addresses.Add(address);
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }
        if (peer is null)
            throw new FormatException($"peer record: the peer_id field is missing");
        return new PeerRecord(peer, sequence, addresses);
    }

    private static Multiaddr? ReadAddressInfo(ReadOnlySpan<byte> bytes)
    {
        Multiaddr? address = null;
        var reader = new ProtobufReader(bytes, $"peer record AddressInfo");
        while (reader.TryReadTag(out var field, out var wire))
        {
            if (field == 1)
                address = Multiaddr.TryFromBytes(reader.ReadBytes(field, wire, "multiaddr"), out var parsed) ? parsed : null;
            else
                reader.Skip(field, wire);
        }
        return address;
    }

    public static (PublicKey Key, byte[] PayloadType, byte[] Payload, byte[] Signature) DecodeEnvelope(ReadOnlySpan<byte> bytes)
    {
        PublicKey? key = null;
        byte[] payloadType = [], payload = [];
        byte[]? signature = null;
        var reader = new ProtobufReader(bytes, "signed envelope");
        // Last one wins for repeated singular fields, as protobuf readers merge them.
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    var keyBytes = reader.ReadBytes(field, wire, "public_key");
                    try
                    {
                        key = PublicKey.FromProtobuf(keyBytes);
                    }
                    catch (FormatException e)
                    {
                        throw new FormatException($"signed envelope: field 1 (public_key) is not a valid key: {e.Message}", e);
                    }
                    break;
                case 2:
                    payloadType = reader.ReadBytes(field, wire, "payload_type").ToArray();
                    break;
                case 3:
                    payload = reader.ReadBytes(field, wire, "payload").ToArray();
                    break;
                case 5:
                    signature = reader.ReadBytes(field, wire, "signature").ToArray();
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }
        if (key is null)
            throw new FormatException($"signed envelope: the public_key field is missing");
        if (signature is null)
            throw new FormatException($"signed envelope: the signature field is missing");
        return (key, payloadType, payload, signature);
    }
}
