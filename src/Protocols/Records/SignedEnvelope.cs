using System.Buffers;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;

namespace Libp2p.Protocols.Records;

/// <summary>
/// A signed envelope (RFC 0002): a payload, a hint of its type, and the signer's public key and
/// signature. The signature covers <c>varint(len(domain)) ‖ domain ‖ varint(len(type)) ‖ type ‖
/// varint(len(payload)) ‖ payload</c>, so a signature made for one domain is worthless in another.
/// Wire format as go and js send it (envelope.proto, proto3): <c>public_key = 1</c> (a protobuf
/// PublicKey), <c>payload_type = 2</c>, <c>payload = 3</c>, <c>signature = 5</c> — the RFC's field 4
/// for the signature was never used by any implementation.
/// </summary>
/// <remarks>Instances exist only sealed by us or opened with a verified signature; immutable.</remarks>
public sealed class SignedEnvelope
{
    private const string What = "signed envelope";
    private const int PublicKeyField = 1;
    private const int PayloadTypeField = 2;
    private const int PayloadField = 3;
    private const int SignatureField = 5;

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(false, true);

    private readonly byte[] _payloadType;
    private readonly byte[] _payload;
    private readonly byte[] _signature;

    private SignedEnvelope(PublicKey publicKey, byte[] payloadType, byte[] payload, byte[] signature)
    {
        PublicKey = publicKey;
        _payloadType = payloadType;
        _payload = payload;
        _signature = signature;
    }

    /// <summary>The signer's key; derive its peer ID with <see cref="Peer.PeerId.FromPublicKey"/>.</summary>
    public PublicKey PublicKey { get; }

    /// <summary>The type hint: a multicodec code, possibly followed by more bytes (RFC 0002 "type hinting").</summary>
    public ReadOnlyMemory<byte> PayloadType => _payloadType;

    /// <summary>The signed payload.</summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    /// <summary>The signature over domain, type and payload.</summary>
    public ReadOnlyMemory<byte> Signature => _signature;

    /// <summary>Signs <paramref name="payload"/> for <paramref name="domain"/> with <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">The domain or the payload type is empty (go refuses both).</exception>
    public static SignedEnvelope Seal(PrivateKey key, string domain, ReadOnlySpan<byte> payloadType, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (payloadType.IsEmpty)
            throw new ArgumentException("a signed envelope needs a payload type", nameof(payloadType));
        var signature = key.Sign(SigningInput(domain, payloadType, payload));
        return new SignedEnvelope(key.PublicKey, payloadType.ToArray(), payload.ToArray(), signature);
    }

    /// <summary>Decodes an envelope and verifies its signature for <paramref name="domain"/>.</summary>
    /// <exception cref="FormatException">The bytes are not an envelope, or its public key is invalid.</exception>
    /// <exception cref="InvalidSignatureException">The signature does not verify for this domain.</exception>
    /// <exception cref="ArgumentException">The domain is empty.</exception>
    public static SignedEnvelope Open(ReadOnlySpan<byte> bytes, string domain)
    {
        var input = SigningInputChecked(domain);
        var envelope = Decode(bytes);
        if (!envelope.PublicKey.Verify(SigningInput(input, envelope._payloadType, envelope._payload), envelope._signature))
            throw new InvalidSignatureException(
                $"{What}: the signature does not verify for domain '{domain}' (another domain, or the payload type, payload or signature was altered)");
        return envelope;
    }

    /// <summary>The encoded size in bytes.</summary>
    public int GetEncodedLength() =>
        ProtobufWriter.BytesFieldLength(PublicKeyField, PublicKey.Protobuf.Length)
        + (_payloadType.Length > 0 ? ProtobufWriter.BytesFieldLength(PayloadTypeField, _payloadType.Length) : 0)
        + (_payload.Length > 0 ? ProtobufWriter.BytesFieldLength(PayloadField, _payload.Length) : 0)
        + ProtobufWriter.BytesFieldLength(SignatureField, _signature.Length);

    /// <summary>Encodes the envelope as go does: fields in ascending order, empty bytes fields left out (proto3).</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ProtobufWriter.WriteBytes(output, PublicKeyField, PublicKey.Protobuf);
        if (_payloadType.Length > 0)
            ProtobufWriter.WriteBytes(output, PayloadTypeField, _payloadType);
        if (_payload.Length > 0)
            ProtobufWriter.WriteBytes(output, PayloadField, _payload);
        ProtobufWriter.WriteBytes(output, SignatureField, _signature);
    }

    /// <summary>The encoded envelope.</summary>
    public byte[] ToBytes()
    {
        var output = new ArrayBufferWriter<byte>(GetEncodedLength());
        WriteTo(output);
        return output.WrittenSpan.ToArray();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"signed envelope by {Peer.PeerId.FromPublicKey(PublicKey)}, type {Convert.ToHexStringLower(_payloadType)}, {_payload.Length} payload bytes";

    // Internal: the benchmarks measure the decoding apart from the signature check. Read by the code
    // protoc generates from envelope.proto (as fast as our hand-written reader, fewer allocations:
    // docs/benchmarks.md); the writer above stays ours, which is faster.
    internal static SignedEnvelope Decode(ReadOnlySpan<byte> bytes)
    {
        var message = ProtobufMessages.Parse(Pb.Envelope.Parser, bytes, What);
        // proto3 cannot tell an absent field from an empty one; an empty key or signature is no key or signature.
        if (message.PublicKey.IsEmpty)
            throw new FormatException($"{What}: the public_key field is missing");
        PublicKey key;
        try
        {
            key = PublicKey.FromProtobuf(message.PublicKey.Span);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{What}: field 1 (public_key) is not a valid key: {e.Message}", e);
        }
        if (message.Signature.IsEmpty)
            throw new FormatException($"{What}: the signature field is missing");
        return new SignedEnvelope(key, ParsedBytes.Take(message.PayloadType), ParsedBytes.Take(message.Payload), ParsedBytes.Take(message.Signature));
    }

    private static byte[] SigningInputChecked(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (domain.Length == 0)
            throw new ArgumentException("a signed envelope needs a domain", nameof(domain));
        // Strict: two domains must never encode alike, as lenient replacement of bad UTF-16 could make them.
        return StrictUtf8.GetBytes(domain);
    }

    private static byte[] SigningInput(string domain, ReadOnlySpan<byte> payloadType, ReadOnlySpan<byte> payload) =>
        SigningInput(SigningInputChecked(domain), payloadType, payload);

    private static byte[] SigningInput(ReadOnlySpan<byte> domain, ReadOnlySpan<byte> payloadType, ReadOnlySpan<byte> payload)
    {
        var output = new ArrayBufferWriter<byte>(domain.Length + payloadType.Length + payload.Length + 3 * Encoding.Varint.MaxLength);
        Append(output, domain);
        Append(output, payloadType);
        Append(output, payload);
        return output.WrittenSpan.ToArray();

        static void Append(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> part)
        {
            Encoding.Varint.Write(output, (ulong)part.Length);
            output.Write(part);
        }
    }
}
