using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Multistream;
using static Libp2p.Protocols.Tests.Multistream.NegotiationHarness;

namespace Libp2p.Protocols.Tests.Multistream;

public sealed class MultistreamPropertyTests
{
    private static readonly string[] Pool = ["/a", "/b/1.0.0", "/c", "/ü/2", "/yamux/1.0.0"];

    private static MultistreamNegotiator NewSide(bool initiator) =>
        initiator ? new MultistreamInitiator(["/a", "/b/1.0.0"]) : new MultistreamResponder(["/a", "/c"], maxAttempts: 4);

    /// <summary>Byte sequences that reach every state: framed messages a peer might send, garbage, and raw bytes.</summary>
    private static Gen<byte[]> Transcript()
    {
        var message = Gen.OneOf(
            Gen.Elements(MultistreamMessage.Header, "na", "ls", "/a", "/b/1.0.0", "/c", "/zzz").Select(m => Frame(m)),
            Gen.Elements<byte[]>([0x00], [0x81, 0x08], [0x80, 0x80], [0x02, 0x2f, 0x61], [0x03, 0x2f, 0xff, 0x0a]),
            ArbMap.Default.GeneratorFor<byte[]>());
        // Most start with the header, so the later states are reached too.
        var header = Gen.Frequency((3, Gen.Constant(Frame(MultistreamMessage.Header))), (1, Gen.Constant(Array.Empty<byte>())));
        return header.SelectMany(h => Gen.ListOf(message).Select(parts => h.Concat(parts.SelectMany(p => p)).ToArray()));
    }

    private static Gen<int[]> Cuts() => Gen.ListOf(Gen.Choose(0, 400)).Select(c => c.ToArray());

    private static string Outcome(MultistreamNegotiator side, Fed fed) =>
        $"{side.State} {side.Protocol} {side.Error?.Reason} {side.Error?.Message} {Convert.ToHexString(fed.Output)} {Convert.ToHexString(fed.Leftover)}";

    [Property(MaxTest = 1000)]
    public bool Random_bytes_must_end_in_a_state_and_never_throw(byte[] bytes, bool initiator, bool withHeader, byte chunk)
    {
        var side = NewSide(initiator);
        side.Start(new ArrayBufferWriter<byte>());
        byte[] input = withHeader ? [.. Frame(MultistreamMessage.Header), .. bytes] : bytes;
        Feed(side, input, InChunksOf(Math.Max(1, (int)chunk)));
        return side.State switch
        {
            NegotiationState.Done => side.Protocol is not null && side.Error is null,
            NegotiationState.Failed => side.Error is not null && side.Protocol is null,
            _ => side.Protocol is null && side.Error is null,
        };
    }

    [Property(MaxTest = 500)]
    public Property Any_cut_of_the_input_must_give_the_same_outcome() =>
        Prop.ForAll(Transcript().ToArbitrary(), Cuts().ToArbitrary(), ArbMap.Default.ArbFor<bool>(), (input, cuts, initiator) =>
        {
            var whole = NewSide(initiator);
            whole.Start(new ArrayBufferWriter<byte>());
            var expected = Outcome(whole, Feed(whole, input, Whole));
            var cut = NewSide(initiator);
            cut.Start(new ArrayBufferWriter<byte>());
            var actual = Outcome(cut, Feed(cut, input, CutAtAll(cuts)));
            return (expected == actual).Label($"whole: {expected}\ncut:   {actual}");
        });

    [Property(MaxTest = 300)]
    public Property Any_protocol_lists_and_cuts_must_agree_on_the_first_supported_proposal() =>
        Prop.ForAll(
            Gen.NonEmptyListOf(Gen.Elements(Pool)).Select(l => l.Distinct().ToArray()).ToArbitrary(),
            Gen.ListOf(Gen.Elements(Pool)).Select(l => l.Distinct().ToArray()).ToArbitrary(),
            Cuts().ToArbitrary(),
            (proposals, supported, cuts) =>
            {
                var c = Converse(new MultistreamInitiator(proposals), new MultistreamResponder(supported), CutAtAll(cuts), "i"u8.ToArray(), "r"u8.ToArray());
                var expected = proposals.FirstOrDefault(supported.Contains);
                return expected is null
                    ? c.Initiator.Error?.Reason == MultistreamFailure.NoneSupported && c.Responder.State == NegotiationState.Negotiating
                    : c.Initiator.Protocol == expected && c.Responder.Protocol == expected
                        && c.InitiatorLeftover.SequenceEqual("r"u8.ToArray()) && c.ResponderLeftover.SequenceEqual("i"u8.ToArray());
            });
}
