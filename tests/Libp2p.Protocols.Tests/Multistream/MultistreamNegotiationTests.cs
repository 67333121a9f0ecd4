using System.Buffers;
using Libp2p.Protocols.Multistream;
using static Libp2p.Protocols.Tests.Multistream.NegotiationHarness;

namespace Libp2p.Protocols.Tests.Multistream;

public sealed class MultistreamNegotiationTests
{
    private const string Header = MultistreamMessage.Header;
    private static readonly string[] Proposals = ["/yamux/2.0.0", "/yamux/1.0.0", "/mplex/6.7.0"];
    private static readonly string[] Supported = ["/mplex/6.7.0", "/yamux/1.0.0"];

    // Longer than any transmission in these conversations, so every cut point of each is tried.
    public static TheoryData<int> CutPoints => [.. Enumerable.Range(0, 40)];

    private static void AssertAgreed(Conversation c, string protocol)
    {
        Assert.Equal(NegotiationState.Done, c.Initiator.State);
        Assert.Equal(NegotiationState.Done, c.Responder.State);
        Assert.Equal(protocol, c.Initiator.Protocol);
        Assert.Equal(protocol, c.Responder.Protocol);
        Assert.Null(c.Initiator.Error);
        Assert.Null(c.Responder.Error);
    }

    [Fact]
    public void The_initiator_must_send_header_and_first_proposal_together_without_waiting()
    {
        var output = new ArrayBufferWriter<byte>();
        new MultistreamInitiator(["/noise", "/tls/1.0.0"]).Start(output);
        Assert.Equal(Frame(Header, "/noise"), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void The_responder_must_stay_silent_until_the_remote_header()
    {
        var responder = new MultistreamResponder(["/noise"]);
        var output = new ArrayBufferWriter<byte>();
        responder.Start(output);
        Assert.Equal(0, output.WrittenCount);
        responder.Receive(Frame(Header)[..5], output);
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void The_responder_must_answer_a_pipelined_header_and_proposal_in_one_write()
    {
        var fed = Feed(new MultistreamResponder(["/noise"]), Frame(Header, "/noise"), Whole);
        Assert.Equal(Frame(Header, "/noise"), fed.Output);
    }

    [Theory]
    [MemberData(nameof(CutPoints))]
    public void Both_sides_must_agree_after_a_refusal_whatever_the_cut(int cut)
    {
        var c = Converse(new MultistreamInitiator(Proposals), new MultistreamResponder(Supported), CutAt(cut));
        AssertAgreed(c, "/yamux/1.0.0");
        Assert.Equal([Frame(Header, "/yamux/2.0.0"), Frame("/yamux/1.0.0")], c.InitiatorSent);
        Assert.Equal([Frame(Header, "na"), Frame("/yamux/1.0.0")], c.ResponderSent);
    }

    [Fact]
    public void Both_sides_must_agree_when_fed_byte_by_byte()
    {
        var c = Converse(new MultistreamInitiator(Proposals), new MultistreamResponder(Supported), ByteByByte);
        AssertAgreed(c, "/yamux/1.0.0");
    }

    [Fact]
    public void The_first_proposal_must_win_in_one_round_trip_when_supported()
    {
        var c = Converse(new MultistreamInitiator(["/mplex/6.7.0", "/yamux/1.0.0"]), new MultistreamResponder(Supported), Whole);
        AssertAgreed(c, "/mplex/6.7.0");
        Assert.Single(c.InitiatorSent);
    }

    [Theory]
    [MemberData(nameof(CutPoints))]
    public void Application_data_pipelined_behind_the_negotiation_must_reach_the_application_whole(int cut)
    {
        var fromInitiator = "initiator data"u8.ToArray();
        var fromResponder = "responder data"u8.ToArray();
        var c = Converse(new MultistreamInitiator(Proposals), new MultistreamResponder(Supported), CutAt(cut), fromInitiator, fromResponder);
        AssertAgreed(c, "/yamux/1.0.0");
        Assert.Equal(fromResponder, c.InitiatorLeftover);
        Assert.Equal(fromInitiator, c.ResponderLeftover);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(int.MaxValue)]
    public void Bytes_behind_the_last_proposal_must_be_left_to_the_caller(int chunk)
    {
        byte[] input = [.. Frame(Header, "/nope", "/echo/1.0.0"), .. "hello"u8];
        var fed = Feed(new MultistreamResponder(["/echo/1.0.0"]), input, InChunksOf(chunk));
        Assert.Equal("hello"u8.ToArray(), fed.Leftover);
        Assert.Equal(Frame(Header, "na", "/echo/1.0.0"), fed.Output);
    }

    [Fact]
    public void The_initiator_must_fail_when_every_proposal_is_refused()
    {
        var c = Converse(new MultistreamInitiator(["/a", "/b"]), new MultistreamResponder(["/c"]), Whole);
        Assert.Equal(NegotiationState.Failed, c.Initiator.State);
        Assert.Equal(MultistreamFailure.NoneSupported, c.Initiator.Error!.Reason);
        Assert.Contains("/a, /b", c.Initiator.Error.Message, StringComparison.Ordinal);
        Assert.Null(c.Initiator.Protocol);
        // The responder waits for more; the dialer closing the stream ends it.
        Assert.Equal(NegotiationState.Negotiating, c.Responder.State);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_wrong_header_must_fail_either_side(bool initiator)
    {
        MultistreamNegotiator side = initiator ? new MultistreamInitiator(["/a"]) : new MultistreamResponder(["/a"]);
        side.Start(new ArrayBufferWriter<byte>());
        var fed = Feed(side, Frame("/multistream/2.0.0", "/a"), Whole);
        Assert.Equal(MultistreamFailure.WrongHeader, side.Error!.Reason);
        Assert.Contains("'/multistream/2.0.0' instead of the header", side.Error.Message, StringComparison.Ordinal);
        Assert.Empty(fed.Output);
    }

    [Fact]
    public void An_echo_without_the_header_first_must_fail_the_initiator()
    {
        var initiator = new MultistreamInitiator(["/a"]);
        initiator.Start(new ArrayBufferWriter<byte>());
        Feed(initiator, Frame("/a"), Whole);
        Assert.Equal(MultistreamFailure.WrongHeader, initiator.Error!.Reason);
    }

    [Theory]
    [InlineData("/b")]
    [InlineData("ls")]
    [InlineData(Header)]
    public void An_answer_that_is_neither_echo_nor_na_must_fail_the_initiator(string answer)
    {
        var initiator = new MultistreamInitiator(["/a"]);
        initiator.Start(new ArrayBufferWriter<byte>());
        Feed(initiator, Frame(Header, answer), Whole);
        Assert.Equal(MultistreamFailure.ProtocolViolation, initiator.Error!.Reason);
        Assert.Contains($"answered '{answer}'", initiator.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_message_over_the_limit_must_fail_as_soon_as_its_length_arrives(bool initiator)
    {
        MultistreamNegotiator side = initiator ? new MultistreamInitiator(["/a"]) : new MultistreamResponder(["/a"]);
        side.Start(new ArrayBufferWriter<byte>());
        Feed(side, [.. Frame(Header), 0x81, 0x08], Whole);
        Assert.Equal(MultistreamFailure.ProtocolViolation, side.Error!.Reason);
        Assert.Contains("1025 bytes is over the limit of 1024", side.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_without_its_newline_must_fail_the_negotiation()
    {
        var responder = new MultistreamResponder(["/a"]);
        Feed(responder, [.. Frame(Header), 0x02, (byte)'/', (byte)'a'], ByteByByte);
        Assert.Equal(MultistreamFailure.ProtocolViolation, responder.Error!.Reason);
        Assert.Contains("newline", responder.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_responder_must_cap_the_number_of_proposals()
    {
        var responder = new MultistreamResponder(["/x"], maxAttempts: 3);
        var fed = Feed(responder, Frame(Header, "/a", "ls", "/c", "/d"), Whole);
        Assert.Equal(MultistreamFailure.TooManyAttempts, responder.Error!.Reason);
        Assert.Equal(3, responder.Attempts);
        byte[] list = [.. new byte[] { 0x05 }, .. Frame("/x"), (byte)'\n'];
        Assert.Equal([.. Frame(Header, "na"), .. list, .. Frame("na")], fed.Output);
    }

    [Fact]
    public void The_responder_must_accept_a_proposal_at_the_cap()
    {
        var responder = new MultistreamResponder(["/x"], maxAttempts: 3);
        Feed(responder, Frame(Header, "/a", "/b", "/x"), Whole);
        Assert.Equal("/x", responder.Protocol);
    }

    [Fact]
    public void The_initiator_must_stop_after_its_cap_of_refusals()
    {
        var c = Converse(new MultistreamInitiator(["/a", "/b", "/c"], maxAttempts: 2), new MultistreamResponder(["/c"]), Whole);
        Assert.Equal(MultistreamFailure.TooManyAttempts, c.Initiator.Error!.Reason);
        Assert.Contains("1 left untried", c.Initiator.Error.Message, StringComparison.Ordinal);
        Assert.Equal([Frame(Header, "/a"), Frame("/b")], c.InitiatorSent);
    }

    [Fact]
    public void Ls_must_be_answered_with_the_supported_list_and_negotiation_go_on()
    {
        var responder = new MultistreamResponder(["/a", "/bc"]);
        var fed = Feed(responder, Frame(Header, "ls", "/bc"), Whole);
        var afterHeader = fed.Output[Frame(Header).Length..];
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryReadList(afterHeader, out var listed, out var used));
        Assert.Equal(["/a", "/bc"], listed);
        Assert.Equal(Frame("/bc"), afterHeader[used..]);
        Assert.Equal("/bc", responder.Protocol);
    }

    [Theory]
    [InlineData("noise")]
    [InlineData("na")]
    [InlineData("")]
    [InlineData("/a\nb")]
    public void Proposals_that_are_not_protocol_ids_must_be_refused_without_asking(string proposal)
    {
        var asked = new List<string>();
        var responder = new MultistreamResponder(p => { asked.Add(p); return true; }, ["/a"]);
        var text = System.Text.Encoding.UTF8.GetBytes(proposal + "\n");
        var fed = Feed(responder, [.. Frame(Header), (byte)text.Length, .. text], Whole);
        Assert.Equal(Frame(Header, "na"), fed.Output);
        Assert.Empty(asked);
        Assert.Equal(NegotiationState.Negotiating, responder.State);
    }

    [Fact]
    public void A_proposal_that_is_not_utf8_must_be_refused()
    {
        var fed = Feed(new MultistreamResponder(new HashSet<string> { "/a" }), [.. Frame(Header), 0x03, (byte)'/', 0xff, (byte)'\n'], Whole);
        Assert.Equal(Frame(Header, "na"), fed.Output);
    }

    [Fact]
    public void A_predicate_responder_must_accept_what_it_approves_and_list_what_it_lists()
    {
        var responder = new MultistreamResponder(p => p.StartsWith("/kad/", StringComparison.Ordinal), ["/kad/1.0.0"]);
        var fed = Feed(responder, Frame(Header, "/kad/2.0.0"), Whole);
        Assert.Equal("/kad/2.0.0", responder.Protocol);
        Assert.Equal(Frame(Header, "/kad/2.0.0"), fed.Output);
    }

    [Fact]
    public void A_set_responder_must_use_the_set()
    {
        var supported = new HashSet<string>(StringComparer.Ordinal) { "/a", "/b" };
        var c = Converse(new MultistreamInitiator(["/c", "/b"]), new MultistreamResponder(supported), Whole);
        AssertAgreed(c, "/b");
    }

    [Fact]
    public void A_lazy_initiator_with_one_protocol_must_let_the_application_write_at_once()
    {
        var initiator = new MultistreamInitiator(["/echo/1.0.0"], lazy: true);
        Assert.False(initiator.MayWrite);
        initiator.Start(new ArrayBufferWriter<byte>());
        Assert.Equal("/echo/1.0.0", initiator.LazyProtocol);
        Assert.True(initiator.MayWrite);
        Assert.Equal(NegotiationState.Negotiating, initiator.State);
    }

    [Theory]
    [MemberData(nameof(CutPoints))]
    public void A_lazy_initiator_must_pipeline_data_and_still_check_the_echo(int cut)
    {
        var data = "ping"u8.ToArray();
        var c = Converse(new MultistreamInitiator(["/echo/1.0.0"], lazy: true), new MultistreamResponder(["/echo/1.0.0"]), CutAt(cut), data, "pong"u8.ToArray());
        AssertAgreed(c, "/echo/1.0.0");
        Assert.Equal([[.. Frame(Header, "/echo/1.0.0"), .. data]], c.InitiatorSent);
        Assert.Equal(data, c.ResponderLeftover);
        Assert.Equal("pong"u8.ToArray(), c.InitiatorLeftover);
    }

    [Fact]
    public void A_lazy_initiator_must_fail_when_its_assumed_protocol_is_refused()
    {
        var c = Converse(new MultistreamInitiator(["/echo/1.0.0"], lazy: true), new MultistreamResponder(["/other"]), Whole, "ping"u8.ToArray());
        Assert.Equal(MultistreamFailure.NoneSupported, c.Initiator.Error!.Reason);
        Assert.False(c.Initiator.MayWrite);
        // The responder reads the pipelined data as negotiation: never as an agreement.
        Assert.NotEqual(NegotiationState.Done, c.Responder.State);
    }

    [Fact]
    public void A_lazy_initiator_must_only_assume_its_last_proposal()
    {
        var initiator = new MultistreamInitiator(["/a", "/b"], lazy: true);
        var output = new ArrayBufferWriter<byte>();
        initiator.Start(output);
        Assert.Null(initiator.LazyProtocol);
        initiator.Receive(Frame(Header, "na"), output);
        Assert.Equal("/b", initiator.LazyProtocol);
        initiator.Receive(Frame("/b"), output);
        Assert.Equal("/b", initiator.Protocol);
    }

    [Fact]
    public void A_finished_negotiation_must_take_no_more_bytes()
    {
        var responder = new MultistreamResponder(["/a"]);
        var output = new ArrayBufferWriter<byte>();
        responder.Receive(Frame(Header, "/a"), output);
        Assert.Equal(0, responder.Receive(Frame("/b"), output));
        Assert.Equal("/a", responder.Protocol);
    }

    [Fact]
    public void Misuse_must_be_refused()
    {
        var initiator = new MultistreamInitiator(["/a"]);
        Assert.Throws<InvalidOperationException>(() => initiator.Receive(Frame(Header), new ArrayBufferWriter<byte>()));
        initiator.Start(new ArrayBufferWriter<byte>());
        Assert.Throws<InvalidOperationException>(() => initiator.Start(new ArrayBufferWriter<byte>()));
        Assert.Throws<ArgumentException>(() => new MultistreamInitiator([]));
        Assert.Throws<ArgumentException>(() => new MultistreamInitiator(["noise"]));
        Assert.Throws<ArgumentException>(() => new MultistreamResponder(["/ok", "bad"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultistreamResponder(["/ok"], maxAttempts: 0));
    }
}
