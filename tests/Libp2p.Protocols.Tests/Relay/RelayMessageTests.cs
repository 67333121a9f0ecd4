using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Dcutr.Pb;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;
using Libp2p.Protocols.Relay;
using Libp2p.Protocols.Relay.Pb;
using PbPeer = Libp2p.Protocols.Relay.Pb.Peer;

namespace Libp2p.Protocols.Tests.Relay;

public sealed class RelayMessageTests
{
    [Fact]
    public void A_reserve_must_encode_its_zero_type_because_the_field_is_optional()
    {
        // proto3 "optional" keeps presence: go and js send RESERVE (0) as 08 00, and a relay that
        // checks HasType must see it.
        Assert.Equal("0800", Convert.ToHexStringLower(new HopMessage { Type = HopMessage.Types.Type.Reserve }.ToByteArray()));
        var parsed = HopMessage.Parser.ParseFrom(Convert.FromHexString("0800"));
        Assert.True(parsed.HasType);
        Assert.Equal(HopMessage.Types.Type.Reserve, parsed.Type);
        Assert.False(HopMessage.Parser.ParseFrom([]).HasType);
    }

    [Fact]
    public void The_status_codes_must_have_the_spec_numbers()
    {
        Assert.Equal(100, (int)Status.Ok);
        Assert.Equal(200, (int)Status.ReservationRefused);
        Assert.Equal(201, (int)Status.ResourceLimitExceeded);
        Assert.Equal(202, (int)Status.PermissionDenied);
        Assert.Equal(203, (int)Status.ConnectionFailed);
        Assert.Equal(204, (int)Status.NoReservation);
        Assert.Equal(400, (int)Status.MalformedMessage);
        Assert.Equal(401, (int)Status.UnexpectedMessage);
        // type = STATUS (2), status = OK (100), limit { duration = 120, data = 131072 }.
        var ok = new HopMessage { Type = HopMessage.Types.Type.Status, Status = Status.Ok, Limit = new Limit { Duration = 120, Data = 131072 } };
        Assert.Equal("0802" + "2206" + "0878" + "10808008" + "2864", Convert.ToHexStringLower(ok.ToByteArray()));
    }

    [Fact]
    public void The_holepunch_and_autonat_numbers_must_be_the_spec_ones()
    {
        Assert.Equal(100, (int)HolePunch.Types.Type.Connect);
        Assert.Equal(300, (int)HolePunch.Types.Type.Sync);
        Assert.Equal("08ac02", Convert.ToHexStringLower(new HolePunch { Type = HolePunch.Types.Type.Sync }.ToByteArray()));
        // proto2 "required": Google.Protobuf parses a message without its type but marks it
        // uninitialized, which is what the DCUtR service checks before trusting it.
        Assert.False(HolePunch.Parser.ParseFrom([0x12, 0x00]).IsInitialized());
        Assert.Equal(200, (int)DialStatus.Ok);
        Assert.Equal(101, (int)DialResponse.Types.ResponseStatus.EDialRefused);
        // nonce is fixed64: tag 0x11 then eight little-endian bytes.
        Assert.Equal("0a09" + "11" + "0102030405060708",
            Convert.ToHexStringLower(new Message { DialRequest = new DialRequest { Nonce = 0x0807060504030201 } }.ToByteArray()));
    }

    [Property(MaxTest = 200)]
    public Property A_framed_hop_message_must_read_back_equal_and_leave_what_follows(byte[] id, ulong expire, uint duration, ulong data, byte[] tail)
    {
        var message = new HopMessage
        {
            Type = HopMessage.Types.Type.Status,
            Status = Status.Ok,
            Peer = new PbPeer { Id = ByteString.CopyFrom(id) },
            Reservation = new Reservation { Expire = expire, Addrs = { ByteString.CopyFrom(id) } },
            Limit = new Limit { Duration = duration, Data = data },
        };
        using var stream = new MemoryStream([.. DelimitedMessages.ToDelimitedBytes(message), .. tail]);
        var read = DelimitedMessages.ReadAsync(stream, HopMessage.Parser, 4096, "test").GetAwaiter().GetResult();
        var rest = new byte[tail.Length];
        stream.ReadExactly(rest);
        return (message.Equals(read) && rest.AsSpan().SequenceEqual(tail)).ToProperty();
    }

    [Fact]
    public async Task A_frame_above_the_limit_must_be_refused_before_its_body_is_read()
    {
        using var stream = new MemoryStream([0x80, 0x40]); // says 8192 bytes, sends none
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => DelimitedMessages.ReadAsync(stream, StopMessage.Parser, 4096, "stop"));
        Assert.Contains("8192", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cut_frame_and_an_empty_stream_must_be_told_apart()
    {
        Assert.Null(await DelimitedMessages.ReadAsync(new MemoryStream(), StopMessage.Parser, 4096, "stop"));
        await Assert.ThrowsAsync<InvalidDataException>(() => DelimitedMessages.ReadAsync(new MemoryStream([0x05, 0x08]), StopMessage.Parser, 4096, "stop"));
        await Assert.ThrowsAsync<InvalidDataException>(() => DelimitedMessages.ReadAsync(new MemoryStream([0x02, 0xff, 0xff]), StopMessage.Parser, 4096, "stop"));
    }

    [Fact]
    public void A_voucher_must_open_with_its_relay_and_carry_what_was_sealed()
    {
        using var relayKey = PrivateKey.Generate(KeyType.Ed25519);
        using var peerKey = PrivateKey.Generate(KeyType.Ed25519);
        var expiration = DateTimeOffset.FromUnixTimeSeconds(1_900_000_000);
        var voucher = new ReservationVoucher(PeerId.FromPublicKey(relayKey.PublicKey), PeerId.FromPublicKey(peerKey.PublicKey), expiration);

        var sealedBytes = voucher.Seal(relayKey);

        Assert.Equal(voucher, ReservationVoucher.Open(sealedBytes));
        var envelope = SignedEnvelope.Open(sealedBytes, "libp2p-relay-rsvp");
        Assert.Equal([0x03, 0x02], envelope.PayloadType.ToArray());
        // Canonical: relay (1), peer (2), expiration (3), in that order and nothing else.
        var relay = voucher.Relay.Multihash.Bytes.ToArray();
        var peer = voucher.Peer.Multihash.Bytes.ToArray();
        byte[] expected = [0x0a, (byte)relay.Length, .. relay, 0x12, (byte)peer.Length, .. peer, 0x18, .. Varint.Encode(1_900_000_000)];
        Assert.Equal(expected, envelope.Payload.ToArray());
    }

    [Fact]
    public void A_voucher_signed_by_another_than_its_relay_or_for_another_domain_must_be_refused()
    {
        using var relayKey = PrivateKey.Generate(KeyType.Ed25519);
        using var otherKey = PrivateKey.Generate(KeyType.Ed25519);
        var voucher = new ReservationVoucher(PeerId.FromPublicKey(relayKey.PublicKey), PeerId.FromPublicKey(otherKey.PublicKey), DateTimeOffset.UnixEpoch.AddDays(1));

        Assert.Throws<ArgumentException>(() => voucher.Seal(otherKey));
        var forged = SignedEnvelope.Seal(otherKey, ReservationVoucher.Domain, ReservationVoucher.PayloadType, voucher.ToMessage().ToByteArray()).ToBytes();
        Assert.Throws<InvalidSignatureException>(() => ReservationVoucher.Open(forged));
        var wrongDomain = SignedEnvelope.Seal(relayKey, "libp2p-peer-record", ReservationVoucher.PayloadType, voucher.ToMessage().ToByteArray()).ToBytes();
        Assert.Throws<InvalidSignatureException>(() => ReservationVoucher.Open(wrongDomain));
        var wrongType = SignedEnvelope.Seal(relayKey, ReservationVoucher.Domain, [0x03, 0x01], voucher.ToMessage().ToByteArray()).ToBytes();
        Assert.Throws<FormatException>(() => ReservationVoucher.Open(wrongType));
        var missing = SignedEnvelope.Seal(relayKey, ReservationVoucher.Domain, ReservationVoucher.PayloadType, new Voucher { Relay = voucher.ToMessage().Relay }.ToByteArray()).ToBytes();
        Assert.Throws<FormatException>(() => ReservationVoucher.Open(missing));
    }
}
