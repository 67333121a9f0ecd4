using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;
using Libp2p.Protocols.Tests.Crypto;

namespace Libp2p.Protocols.Tests.Records;

public sealed class PeerRecordTests
{
    // Marshaled by go-libp2p-core's peer/record_test.go, trimmed to two addresses, as nim-libp2p's interop test keeps it.
    private const string GoRecord =
        "0a26" + "002408011220" + "11bba3ed1721948cefb4e50b0a0bb5cad8a6b52dc7b1a40f4f6652105c91e2c4"
        + "109bf59d8dd99d8ddb16"
        + "1a0a0a080401020304060000"
        + "1a0a0a080401020304060001";

    public static TheoryData<KeyType> KeyTypes => new() { KeyType.Ed25519, KeyType.Secp256k1, KeyType.ECDSA, KeyType.RSA };

    [Fact]
    public void The_constants_must_be_those_every_implementation_uses()
    {
        Assert.Equal("libp2p-peer-record", PeerRecord.Domain);
        Assert.Equal([0x03, 0x01], PeerRecord.PayloadType.ToArray());
    }

    [Fact]
    public void A_record_marshaled_by_go_must_decode_and_re_encode_to_the_same_bytes()
    {
        var bytes = Convert.FromHexString(GoRecord);
        var record = PeerRecord.Parse(bytes);

        Assert.Equal(PeerId.Parse("12D3KooWB1b3qZxWJanuhtseF3DmPggHCtG36KZ9ixkqHtdKH9fh"), record.Peer);
        Assert.Equal(1636553709551319707UL, record.Sequence);
        Assert.Equal(["/ip4/1.2.3.4/tcp/0", "/ip4/1.2.3.4/tcp/1"], record.Addresses.Select(a => a.ToString()));
        Assert.Equal(bytes, record.ToBytes());
        Assert.Equal(bytes.Length, record.GetEncodedLength());
    }

    [Theory]
    [MemberData(nameof(KeyTypes))]
    public void A_sealed_record_must_open_with_its_signer_for_every_key_type(KeyType type)
    {
        using var key = PrivateKey.Generate(type);
        var record = new PeerRecord(PeerId.FromPublicKey(key.PublicKey), 42, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001"), Multiaddr.Parse("/ip6/::1/udp/1/quic-v1")]);

        var envelope = record.Seal(key);
        var (opened, signer) = PeerRecord.FromEnvelope(envelope);

        Assert.Equal(record, opened);
        Assert.Equal(key.PublicKey, signer);
        var raw = SignedEnvelope.Open(envelope, PeerRecord.Domain);
        Assert.Equal(record.ToBytes(), raw.Payload.ToArray());
        Assert.Equal([0x03, 0x01], raw.PayloadType.ToArray());
    }

    [Fact]
    public void A_record_signed_by_another_peer_must_be_rejected()
    {
        using var owner = PrivateKey.FromProtobuf(Convert.FromHexString(KeyVectors.Ed25519Private));
        using var forger = PrivateKey.Generate(KeyType.Ed25519);
        var record = new PeerRecord(PeerId.FromPublicKey(owner.PublicKey), 1, [Multiaddr.Parse("/ip4/6.6.6.6/tcp/1")]);
        var forged = SignedEnvelope.Seal(forger, PeerRecord.Domain, PeerRecord.PayloadType, record.ToBytes()).ToBytes();

        var error = Assert.Throws<InvalidSignatureException>(() => PeerRecord.FromEnvelope(forged));
        Assert.Contains($"names {record.Peer} but was signed by {PeerId.FromPublicKey(forger.PublicKey)}", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => record.Seal(forger));
    }

    [Fact]
    public void A_record_sealed_for_another_domain_must_be_rejected()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var record = new PeerRecord(PeerId.FromPublicKey(key.PublicKey), 1, []);
        var envelope = SignedEnvelope.Seal(key, "libp2p-routing-state", PeerRecord.PayloadType, record.ToBytes()).ToBytes();
        Assert.Throws<InvalidSignatureException>(() => PeerRecord.FromEnvelope(envelope));
    }

    [Fact]
    public void An_envelope_of_another_payload_type_must_be_rejected()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var record = new PeerRecord(PeerId.FromPublicKey(key.PublicKey), 1, []);
        var envelope = SignedEnvelope.Seal(key, PeerRecord.Domain, [0x81, 0x06], record.ToBytes()).ToBytes();
        var error = Assert.Throws<FormatException>(() => PeerRecord.FromEnvelope(envelope));
        Assert.Contains("payload type is 8106, not a peer record's 0301", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tampered_sealed_record_must_be_rejected()
    {
        using var key = PrivateKey.Generate(KeyType.Secp256k1);
        var record = new PeerRecord(PeerId.FromPublicKey(key.PublicKey), 7, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/1")]);
        var envelope = record.Seal(key);
        var payload = record.ToBytes();
        // The last payload byte is the port's low byte: /tcp/1 becomes /tcp/0, still a valid record.
        envelope[envelope.AsSpan().IndexOf(payload) + payload.Length - 1] ^= 1;
        Assert.Throws<InvalidSignatureException>(() => PeerRecord.FromEnvelope(envelope));
    }

    [Fact]
    public void Addresses_that_do_not_decode_must_be_skipped_as_go_does()
    {
        var record = PeerRecord.Parse(Convert.FromHexString(GoRecord + "1a040a02ffff" + "1a00" + "1a020a00" + "1a03220100"));
        Assert.Equal(2, record.Addresses.Count);
    }

    [Fact]
    public void A_zero_sequence_and_no_addresses_must_encode_as_the_peer_ID_alone()
    {
        var peer = PeerId.Parse("12D3KooWB1b3qZxWJanuhtseF3DmPggHCtG36KZ9ixkqHtdKH9fh");
        var bytes = new PeerRecord(peer, 0, []).ToBytes();
        Assert.Equal([0x0a, 0x26, .. peer.ToBytes()], bytes);
        Assert.Equal(new PeerRecord(peer, 0, []), PeerRecord.Parse(bytes));
    }

    [Theory]
    [InlineData("", "peer record: the peer_id field is missing")]
    [InlineData("1001", "peer record: the peer_id field is missing")]
    [InlineData("0a03001234", "peer record: field 1 (peer_id) is not a valid peer ID")]
    [InlineData("0a00", "peer record: the peer_id field is missing")]
    [InlineData("0a02", "peer record: While parsing a protocol message, the input ended unexpectedly in the middle of a field")]
    [InlineData("1202", "peer record: While parsing a protocol message, the input ended unexpectedly in the middle of a field")] // seq (2) as bytes: skipped as unknown, then cut short
    [InlineData("1a030a05", "peer record: While parsing a protocol message, the input ended unexpectedly in the middle of a field")]
    [InlineData("1a020a05", "peer record: While parsing a protocol message, the input ended unexpectedly in the middle of a field")]
    public void Malformed_records_must_be_refused_with_the_reason(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => PeerRecord.Parse(Convert.FromHexString(hex)));
        Assert.StartsWith(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sequence_numbers_must_strictly_increase_even_when_the_clock_stands_still()
    {
        var frozen = new FrozenClock(DateTimeOffset.UnixEpoch.AddSeconds(1));
        var first = PeerRecord.NextSequence(frozen);
        var second = PeerRecord.NextSequence(frozen);
        var now = PeerRecord.NextSequence();
        Assert.True(second > first);
        Assert.True(now > second);
        Assert.True(now > 1_600_000_000UL * 1_000_000_000UL);
    }

    [Fact]
    public void Equality_must_compare_addresses_and_the_list_handed_in_must_be_copied()
    {
        var peer = PeerId.Parse("12D3KooWB1b3qZxWJanuhtseF3DmPggHCtG36KZ9ixkqHtdKH9fh");
        var addresses = new List<Multiaddr> { Multiaddr.Parse("/ip4/1.2.3.4/tcp/1") };
        var record = new PeerRecord(peer, 1, addresses);
        addresses.Add(Multiaddr.Parse("/ip4/1.2.3.4/tcp/2"));
        Assert.Single(record.Addresses);
        Assert.Equal(record, new PeerRecord(peer, 1, [Multiaddr.Parse("/ip4/1.2.3.4/tcp/1")]));
        Assert.NotEqual(record, record with { Sequence = 2 });
        Assert.Contains("/ip4/1.2.3.4/tcp/1", record.ToString(), StringComparison.Ordinal);
    }

    private static readonly PeerId[] Peers =
        [PeerId.Parse("12D3KooWB1b3qZxWJanuhtseF3DmPggHCtG36KZ9ixkqHtdKH9fh"), PeerId.Parse("QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP")];

    private static readonly Multiaddr[] Addresses =
        [.. new[] { "/ip4/1.2.3.4/tcp/4001", "/ip6/::1/udp/4001/quic-v1", "/dns4/example.com/tcp/443/wss", "/memory/7" }.Select(Multiaddr.Parse)];

    [Property(MaxTest = 300)]
    public Property Every_generated_record_must_round_trip_through_bytes() =>
        Prop.ForAll(
            (from peer in Gen.Elements(Peers)
             from sequence in ArbMap.Default.GeneratorFor<ulong>()
             from addresses in Gen.ListOf(Gen.Elements(Addresses))
             select new PeerRecord(peer, sequence, addresses)).ToArbitrary(),
            record =>
            {
                var bytes = record.ToBytes();
                return PeerRecord.Parse(bytes) == record && bytes.Length == record.GetEncodedLength();
            });

    [Property(MaxTest = 1000)]
    public bool Random_bytes_must_decode_to_a_record_or_fail_with_a_format_error(byte[] bytes)
    {
        try
        {
            var record = PeerRecord.Parse(bytes);
            return PeerRecord.Parse(record.ToBytes()) == record;
        }
        catch (FormatException)
        {
            return true;
        }
    }

    private sealed class FrozenClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
