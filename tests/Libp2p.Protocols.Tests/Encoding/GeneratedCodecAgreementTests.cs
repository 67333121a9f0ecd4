using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using Libp2p.Benchmarks;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Records;
using Libp2p.Protocols.Tests.Crypto;
using Libp2p.Protocols.Tests.Identify;

namespace Libp2p.Protocols.Tests.Encoding;

/// <summary>
/// Our codecs against the code protoc generates from the specs' .proto files (Google.Protobuf),
/// both ways. Identify, the peer record and the envelope are read by generated code and written by
/// ours: ours must write the bytes the generated writer writes, and read back what it wrote. The
/// readers they replaced (<see cref="HandWrittenReaders"/>) must read every message alike, and
/// accept no bytes the generated ones refuse. The key codec stayed ours: it must agree with the
/// generated one both ways.
/// </summary>
public sealed class GeneratedCodecAgreementTests
{
    private static readonly PublicKey[] Keys =
        [.. new[] { KeyVectors.Ed25519Public, KeyVectors.Secp256k1Public, KeyVectors.EcdsaPublic, KeyVectors.RsaPublic }
            .Select(hex => PublicKey.FromProtobuf(Convert.FromHexString(hex)))];

    private static readonly Multiaddr[] Addresses =
        [.. new[] { "/ip4/1.2.3.4/tcp/4001", "/ip6/::1/udp/4001/quic-v1", "/dns4/example.com/tcp/443/wss", "/memory/7" }.Select(Multiaddr.Parse)];

    private static readonly Lazy<PrivateKey> SigningKey = new(() => PrivateKey.FromProtobuf(Convert.FromHexString(KeyVectors.Ed25519Private)));

    private static Gen<PeerRecord> Records() =>
        from key in Gen.Elements(Keys)
        from sequence in ArbMap.Default.GeneratorFor<ulong>()
        from addresses in Gen.ListOf(Gen.Elements(Addresses))
        select new PeerRecord(PeerId.FromPublicKey(key), sequence, addresses);

    [Property(MaxTest = 300)]
    public Property An_identify_message_must_encode_alike_and_decode_alike_both_ways() =>
        Prop.ForAll(IdentifyGen.Messages().ToArbitrary(), message =>
        {
            var ours = message.ToBytes();
            var generated = GeneratedCodecs.ToGenerated(message).ToByteArray();
            return ours.AsSpan().SequenceEqual(generated)
                && HandWrittenReaders.ParseIdentify(ours).Equals(message)
                && IdentifyMessage.Parse(generated).Equals(message);
        });

    [Property(MaxTest = 300)]
    public Property A_peer_record_must_encode_alike_and_decode_alike_both_ways() =>
        Prop.ForAll(Records().ToArbitrary(), record =>
        {
            var ours = record.ToBytes();
            var generated = GeneratedCodecs.PeerRecordToBytes(record);
            return ours.AsSpan().SequenceEqual(generated)
                && HandWrittenReaders.ParsePeerRecord(ours) == record
                && PeerRecord.Parse(generated) == record;
        });

    [Property(MaxTest = 100)]
    public Property An_envelope_must_encode_alike_and_decode_alike_both_ways() =>
        Prop.ForAll(
            (from type in ArbMap.Default.GeneratorFor<byte[]>().Where(t => t.Length > 0)
             from payload in ArbMap.Default.GeneratorFor<byte[]>()
             select (type, payload)).ToArbitrary(),
            input =>
            {
                var envelope = SignedEnvelope.Seal(SigningKey.Value, "libp2p-testing", input.type, input.payload);
                var ours = envelope.ToBytes();
                var generated = GeneratedCodecs.EnvelopeToBytes(envelope);
                var decoded = HandWrittenReaders.DecodeEnvelope(ours);
                var opened = SignedEnvelope.Open(generated, "libp2p-testing");
                return ours.AsSpan().SequenceEqual(generated)
                    && decoded.Key.Equals(envelope.PublicKey)
                    && decoded.PayloadType.AsSpan().SequenceEqual(input.type)
                    && decoded.Payload.AsSpan().SequenceEqual(input.payload)
                    && decoded.Signature.AsSpan().SequenceEqual(envelope.Signature.Span)
                    && opened.Payload.Span.SequenceEqual(input.payload);
            });

    // Bytes near a valid message: a bit flipped, the end cut off, or both.
    private static Gen<byte[]> Mutations(byte[] valid) =>
        from position in Gen.Choose(0, valid.Length - 1)
        from bit in Gen.Choose(0, 7)
        from length in Gen.Choose(0, valid.Length)
        from cut in ArbMap.Default.GeneratorFor<bool>()
        select Mutate(valid, position, bit, cut ? length : valid.Length);

    private static byte[] Mutate(byte[] valid, int position, int bit, int length)
    {
        var bytes = (byte[])valid.Clone();
        bytes[position] ^= (byte)(1 << bit);
        return bytes[..length];
    }

    private static Gen<byte[]> Inputs(byte[] valid) =>
        Gen.OneOf(ArbMap.Default.GeneratorFor<byte[]>(), Mutations(valid));

    // What the hand-written reader made of some bytes must be what the generated one makes of them;
    // the generated one may accept more (a known field of the wrong wire type is skipped as unknown,
    // as go's generated code does), never less, and both fail with FormatException only.
    private static bool Agree<THand, TGenerated>(Func<THand> handWritten, Func<TGenerated> generated, Func<THand, TGenerated, bool> equal)
    {
        THand? theirs = default;
        TGenerated? ours = default;
        bool handOk, generatedOk;
        try
        {
            theirs = handWritten();
            handOk = true;
        }
        catch (FormatException)
        {
            handOk = false;
        }
        try
        {
            ours = generated();
            generatedOk = true;
        }
        catch (FormatException)
        {
            generatedOk = false;
        }
        return handOk ? generatedOk && equal(theirs!, ours!) : true;
    }

    [Property(MaxTest = 2000)]
    public Property The_generated_identify_reader_must_read_what_the_hand_written_one_read() =>
        Prop.ForAll(
            Inputs(IdentifyMessageTests.HandBuilt().ToBytes()).ToArbitrary(),
            bytes => Agree(() => HandWrittenReaders.ParseIdentify(bytes), () => IdentifyMessage.Parse(bytes), (a, b) => a.Equals(b)));

    [Property(MaxTest = 2000)]
    public Property The_generated_record_and_envelope_readers_must_read_what_the_hand_written_ones_read() =>
        Prop.ForAll(
            Inputs(new PeerRecord(PeerId.FromPublicKey(Keys[0]), 7, Addresses).Seal(SigningKey.Value)).ToArbitrary(),
            bytes => Agree(
                    () => HandWrittenReaders.DecodeEnvelope(bytes),
                    () => SignedEnvelope.Decode(bytes),
                    (a, b) => a.Key.Equals(b.PublicKey) && a.Payload.AsSpan().SequenceEqual(b.Payload.Span)
                        && a.PayloadType.AsSpan().SequenceEqual(b.PayloadType.Span) && a.Signature.AsSpan().SequenceEqual(b.Signature.Span))
                && Agree(() => HandWrittenReaders.ParsePeerRecord(bytes), () => PeerRecord.Parse(bytes), (a, b) => a == b));

    [Fact]
    public void A_known_field_of_the_wrong_wire_type_is_skipped_now_as_go_skips_it()
    {
        // protocols (3) as a varint, then a valid agentVersion: refused before, skipped now.
        var bytes = Convert.FromHexString("1801" + "3203676f21");
        Assert.Throws<FormatException>(() => HandWrittenReaders.ParseIdentify(bytes));
        Assert.Equal(new IdentifyMessage { AgentVersion = "go!" }, IdentifyMessage.Parse(bytes));
    }

    [Property(MaxTest = 300)]
    public Property A_key_must_encode_alike_and_decode_alike_both_ways() =>
        Prop.ForAll(
            (from type in Gen.Elements(KeyType.RSA, KeyType.Ed25519, KeyType.Secp256k1, KeyType.ECDSA)
             from data in ArbMap.Default.GeneratorFor<byte[]>()
             select (type, data)).ToArbitrary(),
            input =>
            {
                var ours = KeyProtobuf.Encode(input.type, input.data);
                var generated = GeneratedCodecs.EncodeKey(input.type, input.data);
                var theirs = GeneratedCodecs.DecodeKey(ours);
                var back = KeyProtobuf.Decode(generated, "public key");
                return ours.AsSpan().SequenceEqual(generated)
                    && theirs.Type == input.type && theirs.Data.AsSpan().SequenceEqual(input.data)
                    && back.Type == input.type && back.Data.AsSpan().SequenceEqual(input.data);
            });
}
