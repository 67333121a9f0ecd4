using System.Buffers;
using System.Text;
using Google.Protobuf;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Records;

namespace Libp2p.Protocols.Identify;

/// <summary>
/// The message of identify and identify push (identify spec, proto2): what a peer says about
/// itself. Every field is optional; a push may carry only what changed (see <see cref="Merge"/>).
/// Immutable; equality compares lists in order and the signed peer record by content.
/// </summary>
/// <remarks>
/// Decoding is as tolerant as go and js: unknown fields are skipped (and so, as go's generated code
/// does, is a known field of the wrong wire type), a listen or observed address that is not a valid
/// multiaddr is dropped, strings with bad UTF-8 get U+FFFD, and a field that appears twice keeps its
/// last value. Malformed protobuf and an invalid public key are errors. Reading goes through the
/// code generated from <c>identify.proto</c>; writing is ours (see <see cref="WriteTo"/>).
/// </remarks>
public sealed partial record IdentifyMessage
{
    /// <summary>The identify protocol: the responder sends its message and closes the stream.</summary>
    public const string ProtocolId = "/ipfs/id/1.0.0";

    /// <summary>Identify push: the initiator sends its message, whole or partial, when it changes.</summary>
    public const string PushProtocolId = "/ipfs/id/push/1.0.0";

    /// <summary>The default size limit of one framed message: go's <c>signedIDSize</c>, js's <c>maxMessageSize</c>.</summary>
    public const int DefaultMaxMessageSize = 8192;

    private const string What = "identify message";
    private const int PublicKeyField = 1;
    private const int ListenAddrsField = 2;
    private const int ProtocolsField = 3;
    private const int ObservedAddrField = 4;
    private const int ProtocolVersionField = 5;
    private const int AgentVersionField = 6;
    private const int SignedPeerRecordField = 8;

    private readonly Multiaddr[] _listenAddrs = [];
    private readonly string[] _protocols = [];
    private readonly byte[]? _signedPeerRecord;

    /// <summary>Field 5: the family of protocols the peer speaks, e.g. <c>ipfs/0.1.0</c>.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>Field 6: the implementation, e.g. <c>go-libp2p/0.40.0</c>.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>Field 1: the peer's public key, protobuf-encoded on the wire.</summary>
    public PublicKey? PublicKey { get; init; }

    /// <summary>Field 2: the addresses the peer listens on. Unsigned: prefer those of <see cref="SignedPeerRecord"/>.</summary>
    public IReadOnlyList<Multiaddr> ListenAddrs
    {
        get => _listenAddrs;
        init => _listenAddrs = Copy(value, nameof(ListenAddrs));
    }

    /// <summary>Field 4: the address the sender sees this connection coming from.</summary>
    public Multiaddr? ObservedAddr { get; init; }

    /// <summary>Field 3: the protocols the peer accepts inbound streams for.</summary>
    public IReadOnlyList<string> Protocols
    {
        get => _protocols;
        init => _protocols = Copy(value, nameof(Protocols));
    }

    /// <summary>
    /// Field 8: a <see cref="SignedEnvelope"/> holding a <see cref="PeerRecord"/>, still encoded; open
    /// it with <see cref="PeerRecord.FromEnvelope"/>. When it verifies, its addresses win over
    /// <see cref="ListenAddrs"/> (identify spec). Copied on the way in.
    /// </summary>
    /// <remarks>
    /// Empty counts as absent: no envelope is empty, and C# turns a null <c>byte[]</c> assigned here
    /// into an empty memory, not into null, so treating both alike spares callers that trap.
    /// </remarks>
    public ReadOnlyMemory<byte>? SignedPeerRecord
    {
        get => _signedPeerRecord is null ? (ReadOnlyMemory<byte>?)null : _signedPeerRecord;
        init => _signedPeerRecord = value is { IsEmpty: false } record ? record.ToArray() : null;
    }

    // Parse's way in for the record: the parsed array is ours alone, so it needs no defensive copy.
    private byte[]? ParsedSignedPeerRecord
    {
        init => _signedPeerRecord = value is { Length: > 0 } ? value : null;
    }

    /// <summary>
    /// Applies a push received after this message. A field the newer message sets replaces ours,
    /// whole (lists are not appended); a field it leaves out keeps ours, as the spec asks of partial
    /// pushes. Since protobuf cannot tell an empty list from an absent one, an empty list keeps ours
    /// too: a peer cannot push "no protocols at all" (go never tries: its pushes carry its full
    /// state). When the newer message brings listen addresses but no signed record, our record is
    /// dropped: it signs the old addresses and, winning over listenAddrs, would hide the new ones.
    /// </summary>
    public IdentifyMessage Merge(IdentifyMessage newer)
    {
        ArgumentNullException.ThrowIfNull(newer);
        var newAddresses = newer._listenAddrs.Length > 0;
        var record = newer._signedPeerRecord ?? (newAddresses ? null : _signedPeerRecord);
        return new IdentifyMessage
        {
            ProtocolVersion = newer.ProtocolVersion ?? ProtocolVersion,
            AgentVersion = newer.AgentVersion ?? AgentVersion,
            PublicKey = newer.PublicKey ?? PublicKey,
            ListenAddrs = newAddresses ? newer._listenAddrs : _listenAddrs,
            ObservedAddr = newer.ObservedAddr ?? ObservedAddr,
            Protocols = newer._protocols.Length > 0 ? newer._protocols : _protocols,
            SignedPeerRecord = record ?? ReadOnlyMemory<byte>.Empty,
        };
    }

    /// <summary>The encoded size in bytes, without the length prefix.</summary>
    public int GetEncodedLength()
    {
        var length = 0;
        if (PublicKey is not null)
            length += ProtobufWriter.BytesFieldLength(PublicKeyField, PublicKey.Protobuf.Length);
        foreach (var address in _listenAddrs)
            length += ProtobufWriter.BytesFieldLength(ListenAddrsField, address.Bytes.Length);
        foreach (var protocol in _protocols)
            length += ProtobufWriter.StringFieldLength(ProtocolsField, protocol);
        if (ObservedAddr is not null)
            length += ProtobufWriter.BytesFieldLength(ObservedAddrField, ObservedAddr.Bytes.Length);
        if (ProtocolVersion is not null)
            length += ProtobufWriter.StringFieldLength(ProtocolVersionField, ProtocolVersion);
        if (AgentVersion is not null)
            length += ProtobufWriter.StringFieldLength(AgentVersionField, AgentVersion);
        if (_signedPeerRecord is not null)
            length += ProtobufWriter.BytesFieldLength(SignedPeerRecordField, _signedPeerRecord.Length);
        return length;
    }

    /// <summary>
    /// Encodes the message: the fields that are set, in ascending field number, as go's generated
    /// code orders them, so equal messages encode to equal bytes.
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (PublicKey is not null)
            ProtobufWriter.WriteBytes(output, PublicKeyField, PublicKey.Protobuf);
        foreach (var address in _listenAddrs)
            ProtobufWriter.WriteBytes(output, ListenAddrsField, address.Bytes);
        foreach (var protocol in _protocols)
            ProtobufWriter.WriteString(output, ProtocolsField, protocol);
        if (ObservedAddr is not null)
            ProtobufWriter.WriteBytes(output, ObservedAddrField, ObservedAddr.Bytes);
        if (ProtocolVersion is not null)
            ProtobufWriter.WriteString(output, ProtocolVersionField, ProtocolVersion);
        if (AgentVersion is not null)
            ProtobufWriter.WriteString(output, AgentVersionField, AgentVersion);
        if (_signedPeerRecord is not null)
            ProtobufWriter.WriteBytes(output, SignedPeerRecordField, _signedPeerRecord);
    }

    /// <summary>The encoded message, without the length prefix.</summary>
    public byte[] ToBytes()
    {
        var output = new ArrayBufferWriter<byte>(Math.Max(1, GetEncodedLength()));
        WriteTo(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a message (without length prefix); see the remarks for what is tolerated.</summary>
    /// <exception cref="FormatException">Malformed protobuf (truncated, bad field number, bad length) or an invalid public key.</exception>
    public static IdentifyMessage Parse(ReadOnlySpan<byte> bytes)
    {
        // Read by the code protoc generates from identify.proto: it was as fast as our hand-written
        // reader and allocated less (docs/benchmarks.md). The writer above stays ours: it allocates nothing.
        var message = ProtobufMessages.Parse(Pb.Identify.Parser, bytes, What);
        PublicKey? publicKey = null;
        if (message.HasPublicKey)
        {
            try
            {
                publicKey = PublicKey.FromProtobuf(message.PublicKey.Span);
            }
            catch (FormatException e)
            {
                throw new FormatException($"{What}: field 1 (publicKey) is not a valid public key: {e.Message}", e);
            }
        }
        var listenAddrs = new List<Multiaddr>(message.ListenAddrs.Count);
        foreach (var address in message.ListenAddrs)
        {
            if (Multiaddr.TryFromBytes(address.Span, out var listenAddr))
                listenAddrs.Add(listenAddr);
        }
        var protocols = new string[message.Protocols.Count];
        for (var i = 0; i < protocols.Length; i++)
            protocols[i] = Utf8(message.Protocols[i]);
        return new IdentifyMessage
        {
            ProtocolVersion = message.HasProtocolVersion ? Utf8(message.ProtocolVersion) : null,
            AgentVersion = message.HasAgentVersion ? Utf8(message.AgentVersion) : null,
            PublicKey = publicKey,
            ListenAddrs = listenAddrs,
            ObservedAddr = message.HasObservedAddr && Multiaddr.TryFromBytes(message.ObservedAddr.Span, out var observed) ? observed : null,
            Protocols = protocols,
            ParsedSignedPeerRecord = message.HasSignedPeerRecord ? ParsedBytes.Take(message.SignedPeerRecord) : null,
        };

        // identify.proto declares the strings bytes, so bad UTF-8 becomes U+FFFD instead of an error.
        static string Utf8(ByteString bytes) => System.Text.Encoding.UTF8.GetString(bytes.Span);
    }

    /// <inheritdoc />
    public bool Equals(IdentifyMessage? other) =>
        other is not null
        && ProtocolVersion == other.ProtocolVersion
        && AgentVersion == other.AgentVersion
        && Equals(PublicKey, other.PublicKey)
        && _listenAddrs.AsSpan().SequenceEqual(other._listenAddrs)
        && ObservedAddr == other.ObservedAddr
        && _protocols.AsSpan().SequenceEqual(other._protocols)
        && (_signedPeerRecord is null
            ? other._signedPeerRecord is null
            : other._signedPeerRecord is not null && _signedPeerRecord.AsSpan().SequenceEqual(other._signedPeerRecord));

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(ProtocolVersion);
        hash.Add(AgentVersion);
        hash.Add(PublicKey);
        foreach (var address in _listenAddrs)
            hash.Add(address);
        hash.Add(ObservedAddr);
        foreach (var protocol in _protocols)
            hash.Add(protocol);
        if (_signedPeerRecord is not null)
            hash.AddBytes(_signedPeerRecord);
        return hash.ToHashCode();
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"ProtocolVersion = {ProtocolVersion}, AgentVersion = {AgentVersion}, PublicKey = {PublicKey}, ");
        builder.Append($"ListenAddrs = [{string.Join(", ", _listenAddrs.Select(a => a.ToString()))}], ObservedAddr = {ObservedAddr}, ");
        builder.Append($"Protocols = [{string.Join(", ", _protocols)}], SignedPeerRecord = ");
        builder.Append(_signedPeerRecord is null ? "" : $"{_signedPeerRecord.Length} bytes");
        return true;
    }

    private static T[] Copy<T>(IReadOnlyList<T> items, string name)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(items, name);
        var copy = items.ToArray();
        if (Array.IndexOf(copy, null) >= 0)
            throw new ArgumentException($"{name} holds a null", name);
        return copy;
    }
}
