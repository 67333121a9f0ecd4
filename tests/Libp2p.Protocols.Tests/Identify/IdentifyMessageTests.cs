using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Crypto;

namespace Libp2p.Protocols.Tests.Identify;

public sealed class IdentifyMessageTests
{
    // Field by field, in ascending field number, as go's generated code writes them.
    private const string HandBuiltHex =
        "0a24" + KeyVectors.Ed25519Public                    // 1 publicKey
        + "1208" + "0401020304060fa1"                        // 2 listenAddrs /ip4/1.2.3.4/tcp/4001
        + "1a0e" + "2f697066732f69642f312e302e30"             // 3 protocols /ipfs/id/1.0.0
        + "1a10" + "2f697066732f70696e672f312e302e30"         // 3 protocols /ipfs/ping/1.0.0
        + "2208" + "047f00000106d903"                        // 4 observedAddr /ip4/127.0.0.1/tcp/55555
        + "2a0a" + "697066732f302e312e30"                     // 5 protocolVersion ipfs/0.1.0
        + "3211" + "616b6b612d6c69627032702f302e312e30"       // 6 agentVersion akka-libp2p/0.1.0
        + "4202" + "dead";                                   // 8 signedPeerRecord

    internal static IdentifyMessage HandBuilt() => new()
    {
        ProtocolVersion = "ipfs/0.1.0",
        AgentVersion = "akka-libp2p/0.1.0",
        PublicKey = PublicKey.FromProtobuf(Convert.FromHexString(KeyVectors.Ed25519Public)),
        ListenAddrs = [Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001")],
        ObservedAddr = Multiaddr.Parse("/ip4/127.0.0.1/tcp/55555"),
        Protocols = ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"],
        SignedPeerRecord = new byte[] { 0xde, 0xad },
    };

    [Fact]
    public void A_hand_built_message_must_encode_to_the_exact_bytes_in_ascending_field_order()
    {
        var message = HandBuilt();
        Assert.Equal(HandBuiltHex.ToLowerInvariant(), Convert.ToHexStringLower(message.ToBytes()));
        Assert.Equal(HandBuiltHex.Length / 2, message.GetEncodedLength());
    }

    [Fact]
    public void The_exact_bytes_must_decode_to_the_hand_built_message()
    {
        var parsed = IdentifyMessage.Parse(Convert.FromHexString(HandBuiltHex));
        Assert.Equal(HandBuilt(), parsed);
        Assert.Equal(HandBuilt().GetHashCode(), parsed.GetHashCode());
        Assert.Equal(KeyType.Ed25519, parsed.PublicKey!.Type);
        Assert.Equal("/ip4/127.0.0.1/tcp/55555", parsed.ObservedAddr!.ToString());
    }

    [Fact]
    public void An_empty_message_must_encode_to_no_bytes_and_decode_with_every_field_absent()
    {
        Assert.Empty(new IdentifyMessage().ToBytes());
        var parsed = IdentifyMessage.Parse([]);
        Assert.Equal(new IdentifyMessage(), parsed);
        Assert.Null(parsed.ProtocolVersion);
        Assert.Null(parsed.PublicKey);
        Assert.Null(parsed.ObservedAddr);
        Assert.Null(parsed.SignedPeerRecord);
        Assert.Empty(parsed.ListenAddrs);
        Assert.Empty(parsed.Protocols);
    }

    [Fact]
    public void Unknown_fields_of_every_wire_type_must_be_skipped()
    {
        var unknown = "3801"                       // 7 natStatus (old go), varint
            + "4900000000000000ff"                 // 9 fixed64
            + "5501020304"                         // 10 fixed32
            + "a2060568656c6c6f"                   // 100 bytes "hello"
            + "f8ffffff0f80808080808080808001";    // 536870911 (largest field number), 10-byte varint
        var bytes = Convert.FromHexString(unknown[..22] + HandBuiltHex + unknown[22..]);
        Assert.Equal(HandBuilt(), IdentifyMessage.Parse(bytes));
    }

    [Theory]
    [InlineData("1202ffff")]      // the protocol code varint never ends
    [InlineData("12022a00")]      // protocol code 42 does not exist
    [InlineData("1200")]          // empty: go refuses an empty multiaddr
    [InlineData("120404010203")]  // ip4 with 3 of its 4 bytes
    public void A_listen_address_that_does_not_decode_must_be_skipped_and_the_rest_kept(string badField)
    {
        var bytes = Convert.FromHexString(badField + "1208" + "0401020304060fa1" + badField);
        var parsed = IdentifyMessage.Parse(bytes);
        Assert.Equal([Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001")], parsed.ListenAddrs);
    }

    [Fact]
    public void An_observed_address_that_does_not_decode_must_be_dropped_not_fail_the_message()
    {
        var parsed = IdentifyMessage.Parse(Convert.FromHexString("2202ffff" + "2a0a697066732f302e312e30"));
        Assert.Null(parsed.ObservedAddr);
        Assert.Equal("ipfs/0.1.0", parsed.ProtocolVersion);
    }

    [Fact]
    public void A_singular_field_given_twice_must_keep_its_last_value()
    {
        var parsed = IdentifyMessage.Parse(Convert.FromHexString("2a0161" + "2a0162" + "42010a" + "42010b"));
        Assert.Equal("b", parsed.ProtocolVersion);
        Assert.Equal(new byte[] { 0x0b }, parsed.SignedPeerRecord!.Value.ToArray());
    }

    [Fact]
    public void An_empty_signed_peer_record_must_count_as_absent()
    {
        byte[]? none = null;
        Assert.Null(new IdentifyMessage { SignedPeerRecord = none }.SignedPeerRecord);
        Assert.Null(new IdentifyMessage { SignedPeerRecord = Array.Empty<byte>() }.SignedPeerRecord);
        Assert.Null(IdentifyMessage.Parse(Convert.FromHexString("4200")).SignedPeerRecord);
    }

    [Fact]
    public void Invalid_UTF8_in_a_string_must_become_replacement_characters_not_an_error()
    {
        var parsed = IdentifyMessage.Parse(Convert.FromHexString("1a03" + "61ff62"));
        Assert.Equal(["a\uFFFDb"], parsed.Protocols);
    }

    // Google.Protobuf's words, since the generated code reads the message: they name no field or offset.
    private const string Truncated = "While parsing a protocol message, the input ended unexpectedly in the middle of a field";

    [Theory]
    [InlineData("0a05010203", "identify message: " + Truncated)]
    [InlineData("12", "identify message: " + Truncated)]
    [InlineData("3280", "identify message: " + Truncated)]
    [InlineData("80", "identify message: " + Truncated)]
    [InlineData("7b", "identify message: Protocol message end-group tag did not match expected tag")]
    [InlineData("3f", "identify message: Protocol message contained a tag with an invalid wire type")]
    [InlineData("0000", "identify message: Protocol message contained an invalid tag (zero)")]
    [InlineData("4d0102", "identify message: " + Truncated)]
    [InlineData("0a020801", "identify message: field 1 (publicKey) is not a valid public key: public key: the Data field is missing")]
    [InlineData("0a0608011202abcd", "identify message: field 1 (publicKey) is not a valid public key")]
    public void Malformed_messages_must_be_refused_with_the_reason(string hex, string reason)
    {
        var error = Assert.Throws<FormatException>(() => IdentifyMessage.Parse(Convert.FromHexString(hex)));
        Assert.StartsWith(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0801")]                    // publicKey (1) as a varint
    [InlineData("1d00000000")]              // protocols (3) as a fixed32
    [InlineData("38ffffffffffffffffff02")]  // unknown field 7, a 10-byte varint past 64 bits
    public void What_generated_code_skips_as_an_unknown_field_must_be_skipped(string hex)
    {
        // The hand-written reader refused these; go's generated code skips a known field of the wrong
        // wire type as unknown, and so does Google.Protobuf's, which also drops a varint's bits past 64.
        var parsed = IdentifyMessage.Parse(Convert.FromHexString(hex + "2a0a697066732f302e312e30"));
        Assert.Equal(new IdentifyMessage { ProtocolVersion = "ipfs/0.1.0" }, parsed);
    }

    [Fact]
    public void Every_truncation_of_a_message_must_decode_or_fail_with_a_format_error()
    {
        var bytes = Convert.FromHexString(HandBuiltHex);
        for (var length = 0; length < bytes.Length; length++)
        {
            try
            {
                IdentifyMessage.Parse(bytes.AsSpan(0, length));
            }
            catch (FormatException)
            {
            }
        }
        // Cutting inside the public key must be reported, not read as a shorter key.
        Assert.Throws<FormatException>(() => IdentifyMessage.Parse(bytes.AsSpan(0, 20)));
    }

    [Fact]
    public void Lists_handed_in_must_be_copied_so_the_message_stays_immutable()
    {
        var protocols = new List<string> { "/a" };
        var message = new IdentifyMessage { Protocols = protocols };
        protocols.Add("/b");
        var record = new byte[] { 1 };
        var withRecord = message with { SignedPeerRecord = record };
        record[0] = 2;
        Assert.Equal(["/a"], message.Protocols);
        Assert.Equal(1, withRecord.SignedPeerRecord!.Value.Span[0]);
        Assert.Throws<ArgumentException>(() => new IdentifyMessage { Protocols = [null!] });
    }

    [Fact]
    public void Equality_must_compare_contents_and_ToString_must_show_them()
    {
        Assert.Equal(HandBuilt(), HandBuilt());
        Assert.NotEqual(HandBuilt(), HandBuilt() with { Protocols = ["/ipfs/id/1.0.0"] });
        Assert.NotEqual(HandBuilt(), HandBuilt() with { SignedPeerRecord = null });
        Assert.NotEqual(HandBuilt(), HandBuilt() with { SignedPeerRecord = new byte[] { 0xde, 0xae } });
        Assert.Contains("/ip4/1.2.3.4/tcp/4001", HandBuilt().ToString(), StringComparison.Ordinal);
        Assert.Contains("/ipfs/ping/1.0.0", HandBuilt().ToString(), StringComparison.Ordinal);
    }

    [Property(MaxTest = 300)]
    public Property Every_generated_message_must_round_trip_through_bytes() =>
        Prop.ForAll(IdentifyGen.Messages().ToArbitrary(), message =>
        {
            var bytes = message.ToBytes();
            var parsed = IdentifyMessage.Parse(bytes);
            return parsed == message
                && parsed.GetHashCode() == message.GetHashCode()
                && bytes.Length == message.GetEncodedLength()
                && parsed.ToBytes().AsSpan().SequenceEqual(bytes);
        });

    [Property(MaxTest = 2000)]
    public bool Random_bytes_must_decode_to_a_message_that_re_encodes_or_fail_with_a_format_error(byte[] bytes)
    {
        try
        {
            var message = IdentifyMessage.Parse(bytes);
            return IdentifyMessage.Parse(message.ToBytes()) == message;
        }
        catch (FormatException)
        {
            return true;
        }
    }

    [Property(MaxTest = 300)]
    public Property Random_bytes_after_a_valid_message_must_never_throw_anything_but_a_format_error() =>
        Prop.ForAll(IdentifyGen.Messages().ToArbitrary(), ArbMap.Default.ArbFor<byte[]>(), (message, tail) =>
        {
            try
            {
                IdentifyMessage.Parse([.. message.ToBytes(), .. tail]);
            }
            catch (FormatException)
            {
            }
            return true;
        });
}
