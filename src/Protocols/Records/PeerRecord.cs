using System.Buffers;
using System.Text;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Records;

/// <summary>
/// A peer record (RFC 0003): a peer's addresses, ordered in time by <see cref="Sequence"/>, meant
/// to travel inside a <see cref="SignedEnvelope"/> signed by that peer. Wire format (peer_record.proto,
/// proto3): <c>peer_id = 1</c> (multihash bytes), <c>seq = 2</c> (uint64),
/// <c>addresses = 3</c> (repeated <c>AddressInfo { bytes multiaddr = 1; }</c>).
/// Immutable; equality compares the addresses in order.
/// </summary>
/// <param name="Peer">The peer the addresses belong to.</param>
/// <param name="Sequence">Greater in every newer record of the same peer; see <see cref="NextSequence"/>.</param>
/// <param name="Addresses">The peer's addresses; copied.</param>
public sealed record PeerRecord(PeerId Peer, ulong Sequence, IReadOnlyList<Multiaddr> Addresses)
{
    /// <summary>The envelope domain of peer records.</summary>
    public const string Domain = "libp2p-peer-record";

    private const string What = "peer record";
    private const int PeerIdField = 1;
    private const int SeqField = 2;
    private const int AddressesField = 3;
    private const int MultiaddrField = 1;

    private static long s_lastSequence;

    private readonly Multiaddr[] _addresses = Copy(Addresses);

    /// <summary>
    /// The envelope payload type: the multicodec <c>libp2p-peer-record</c> (0x0301) as the two bytes
    /// <c>03 01</c>, which is what go, js, rust and nim send (not its varint form <c>81 06</c>).
    /// </summary>
    public static ReadOnlySpan<byte> PayloadType => [0x03, 0x01];

    /// <summary>The peer the addresses belong to.</summary>
    public PeerId Peer { get; init; } = Peer ?? throw new ArgumentNullException(nameof(Peer));

    /// <summary>The peer's addresses, in the order given.</summary>
    public IReadOnlyList<Multiaddr> Addresses
    {
        get => _addresses;
        init => _addresses = Copy(value);
    }

    /// <summary>
    /// A sequence number for a new record: Unix time in nanoseconds as go's <c>TimestampSeq</c> uses,
    /// bumped past the last one this process handed out so that two records made within one clock
    /// tick (or across a clock step back) still order.
    /// </summary>
    public static ulong NextSequence(TimeProvider? clock = null)
    {
        var now = ((clock ?? TimeProvider.System).GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        while (true)
        {
            var last = Volatile.Read(ref s_lastSequence);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref s_lastSequence, next, last) == last)
                return (ulong)next;
        }
    }

    /// <summary>The encoded size in bytes.</summary>
    public int GetEncodedLength()
    {
        var length = ProtobufWriter.BytesFieldLength(PeerIdField, Peer.Multihash.Bytes.Length);
        if (Sequence != 0)
            length += ProtobufWriter.VarintFieldLength(SeqField, Sequence);
        foreach (var address in _addresses)
            length += ProtobufWriter.BytesFieldLength(AddressesField, AddressInfoLength(address));
        return length;
    }

    /// <summary>Encodes the record as go does: ascending field numbers, a zero <c>seq</c> left out (proto3).</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ProtobufWriter.WriteBytes(output, PeerIdField, Peer.Multihash.Bytes);
        if (Sequence != 0)
            ProtobufWriter.WriteVarintField(output, SeqField, Sequence);
        foreach (var address in _addresses)
        {
            ProtobufWriter.WriteLengthPrefix(output, AddressesField, AddressInfoLength(address));
            if (!address.IsEmpty)
                ProtobufWriter.WriteBytes(output, MultiaddrField, address.Bytes);
        }
    }

    /// <summary>The encoded record, the payload of its envelope.</summary>
    public byte[] ToBytes()
    {
        var output = new ArrayBufferWriter<byte>(GetEncodedLength());
        WriteTo(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Decodes a record. As go does, an address that is not a valid multiaddr is skipped rather than
    /// failing the record: the others are still worth dialing.
    /// </summary>
    /// <exception cref="FormatException">Malformed protobuf, or a missing or invalid peer ID.</exception>
    public static PeerRecord Parse(ReadOnlySpan<byte> bytes)
    {
        // Read by the code protoc generates from peer_record.proto (as fast as our hand-written
        // reader, fewer allocations: docs/benchmarks.md); the writer above stays ours, which is faster.
        var message = ProtobufMessages.Parse(Pb.PeerRecord.Parser, bytes, What);
        // proto3 cannot tell an absent peer_id from an empty one; neither names a peer.
        if (message.PeerId.IsEmpty)
            throw new FormatException($"{What}: the peer_id field is missing");
        PeerId peer;
        try
        {
            peer = PeerId.FromBytes(message.PeerId.Span);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{What}: field 1 (peer_id) is not a valid peer ID: {e.Message}", e);
        }
        var addresses = new List<Multiaddr>(message.Addresses.Count);
        foreach (var info in message.Addresses)
        {
            if (Multiaddr.TryFromBytes(info.Multiaddr.Span, out var address))
                addresses.Add(address);
        }
        return new PeerRecord(peer, message.Seq, addresses);
    }

    /// <summary>Signs the record with the peer's own key.</summary>
    /// <returns>The encoded envelope, as identify's <c>signedPeerRecord</c> carries it.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not the key of <see cref="Peer"/>: no one would accept the record.</exception>
    public byte[] Seal(PrivateKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!Peer.Matches(key.PublicKey))
            throw new ArgumentException($"the record is for {Peer} but the key is {PeerId.FromPublicKey(key.PublicKey)}'s", nameof(key));
        return SignedEnvelope.Seal(key, Domain, PayloadType, ToBytes()).ToBytes();
    }

    /// <summary>
    /// Opens an envelope holding a peer record: verifies the signature for <see cref="Domain"/>, checks
    /// the payload type, decodes the record and checks that its peer is the signer.
    /// </summary>
    /// <exception cref="FormatException">The envelope or the record is malformed, or the envelope holds something else.</exception>
    /// <exception cref="InvalidSignatureException">The signature does not verify, or the signer is not the record's peer.</exception>
    public static (PeerRecord Record, PublicKey Signer) FromEnvelope(ReadOnlySpan<byte> envelope)
    {
        var opened = SignedEnvelope.Open(envelope, Domain);
        if (!opened.PayloadType.Span.SequenceEqual(PayloadType))
            throw new FormatException(
                $"{What}: the envelope's payload type is {Convert.ToHexStringLower(opened.PayloadType.Span)}, not a peer record's 0301");
        var record = Parse(opened.Payload.Span);
        if (!record.Peer.Matches(opened.PublicKey))
            throw new InvalidSignatureException(
                $"{What}: the record names {record.Peer} but was signed by {PeerId.FromPublicKey(opened.PublicKey)}");
        return (record, opened.PublicKey);
    }

    /// <inheritdoc />
    public bool Equals(PeerRecord? other) =>
        other is not null && Peer == other.Peer && Sequence == other.Sequence && _addresses.AsSpan().SequenceEqual(other._addresses);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Peer);
        hash.Add(Sequence);
        foreach (var address in _addresses)
            hash.Add(address);
        return hash.ToHashCode();
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Peer = {Peer}, Sequence = {Sequence}, Addresses = [{string.Join(", ", _addresses.Select(a => a.ToString()))}]");
        return true;
    }

    private static int AddressInfoLength(Multiaddr address) =>
        address.IsEmpty ? 0 : ProtobufWriter.BytesFieldLength(MultiaddrField, address.Bytes.Length);

    private static Multiaddr[] Copy(IReadOnlyList<Multiaddr> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var copy = addresses.ToArray();
        if (Array.IndexOf(copy, null) >= 0)
            throw new ArgumentException("an address is null", nameof(addresses));
        return copy;
    }
}
