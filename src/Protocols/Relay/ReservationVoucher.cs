using Google.Protobuf;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;

namespace Libp2p.Protocols.Relay;

/// <summary>
/// A reservation voucher (circuit relay v2, "Reservation Vouchers"): the relay's signed statement
/// that it serves <see cref="Peer"/> until <see cref="Expiration"/>. It travels as a
/// <see cref="SignedEnvelope"/> of domain <see cref="Domain"/> whose payload is the spec's
/// <c>Voucher</c> message in canonical form (fields in order, none unknown).
/// </summary>
/// <param name="Relay">The relay that made the reservation and signs the voucher.</param>
/// <param name="Peer">The peer that holds the reservation.</param>
/// <param name="Expiration">When the reservation ends, UTC, to the second.</param>
public sealed record ReservationVoucher(PeerId Relay, PeerId Peer, DateTimeOffset Expiration)
{
    /// <summary>The envelope domain of vouchers.</summary>
    public const string Domain = "libp2p-relay-rsvp";

    private const string What = "reservation voucher";

    /// <summary>The envelope payload type: the multicodec <c>libp2p-relay-rsvp</c> (0x0302) as the two bytes <c>03 02</c>, as go and js send it.</summary>
    public static ReadOnlySpan<byte> PayloadType => [0x03, 0x02];

    /// <summary>The voucher as the spec's protobuf message.</summary>
    public Pb.Voucher ToMessage() => new()
    {
        Relay = ByteString.CopyFrom(Relay.Multihash.Bytes),
        Peer = ByteString.CopyFrom(Peer.Multihash.Bytes),
        Expiration = (ulong)Math.Max(0, Expiration.ToUnixTimeSeconds()),
    };

    /// <summary>Signs the voucher with the relay's key.</summary>
    /// <returns>The encoded envelope, as <c>Reservation.voucher</c> carries it.</returns>
    /// <exception cref="ArgumentException"><paramref name="relayKey"/> is not <see cref="Relay"/>'s key.</exception>
    public byte[] Seal(PrivateKey relayKey)
    {
        ArgumentNullException.ThrowIfNull(relayKey);
        if (!Relay.Matches(relayKey.PublicKey))
            throw new ArgumentException($"the voucher is for relay {Relay} but the key is {PeerId.FromPublicKey(relayKey.PublicKey)}'s", nameof(relayKey));
        return SignedEnvelope.Seal(relayKey, Domain, PayloadType, ToMessage().ToByteArray()).ToBytes();
    }

    /// <summary>
    /// Opens a voucher: verifies the envelope's signature for <see cref="Domain"/>, checks the payload
    /// type, decodes the voucher and checks that the relay it names signed it.
    /// </summary>
    /// <exception cref="FormatException">The envelope or the voucher is malformed, a field is missing, or the envelope holds something else.</exception>
    /// <exception cref="InvalidSignatureException">The signature does not verify, or the signer is not the voucher's relay.</exception>
    public static ReservationVoucher Open(ReadOnlySpan<byte> envelope)
    {
        var opened = SignedEnvelope.Open(envelope, Domain);
        if (!opened.PayloadType.Span.SequenceEqual(PayloadType))
            throw new FormatException($"{What}: the envelope's payload type is {Convert.ToHexStringLower(opened.PayloadType.Span)}, not a voucher's 0302");
        Pb.Voucher message;
        try
        {
            message = Pb.Voucher.Parser.ParseFrom(opened.Payload.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new FormatException($"{What}: the payload is malformed: {e.Message}", e);
        }
        if (!message.HasRelay || !message.HasPeer || !message.HasExpiration)
            throw new FormatException($"{What}: the relay, peer or expiration field is missing");
        var voucher = new ReservationVoucher(ReadPeer(message.Relay, "relay"), ReadPeer(message.Peer, "peer"),
            DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(message.Expiration, (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds())));
        if (!voucher.Relay.Matches(opened.PublicKey))
            throw new InvalidSignatureException($"{What}: the voucher names relay {voucher.Relay} but was signed by {PeerId.FromPublicKey(opened.PublicKey)}");
        return voucher;
    }

    private static PeerId ReadPeer(ByteString bytes, string field)
    {
        try
        {
            return PeerId.FromBytes(bytes.Span);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{What}: the {field} field is not a valid peer ID: {e.Message}", e);
        }
    }
}
