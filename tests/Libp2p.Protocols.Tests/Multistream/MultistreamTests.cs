using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FsCheck.Xunit;
using Libp2p.Protocols.Multistream;

namespace Libp2p.Protocols.Tests.Multistream;

public sealed class MultistreamTests
{
    private static byte[] Frame(params string[] messages)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var m in messages)
            MultistreamMessage.Write(output, m);
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void The_header_must_be_framed_as_the_spec_shows()
    {
        Assert.Equal("132f6d756c746973747265616d2f312e302e300a", Convert.ToHexStringLower(Frame(MultistreamMessage.Header)));
        Assert.Equal("036e610a", Convert.ToHexStringLower(Frame("na")));
    }

    [Theory]
    [InlineData("05616263640a", "abcd")]
    [InlineData("01" + "0a", "")]
    public void Messages_must_decode(string hex, string text)
    {
        Assert.Equal(OperationStatus.Done, MultistreamMessage.TryRead(Convert.FromHexString(hex), out var message, out var used));
        Assert.Equal(text, message);
        Assert.Equal(hex.Length / 2, used);
    }

    [Theory]
    [InlineData("0461626364", "does not end in a newline")]
    [InlineData("00", "an empty message")]
    [InlineData("8108", "over the limit of 1024")]
    [InlineData("ffffffffffffffffff01", "not a valid varint")]
    [InlineData("03ff fe0a", "not valid UTF-8")]
    public void Bad_messages_must_be_refused_with_the_reason(string hex, string reason)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        var error = Assert.Throws<FormatException>(() => MultistreamMessage.TryRead(bytes, out _, out _));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs both sides against each other, delivering the bytes in chunks of <paramref name="chunk"/>.</summary>
    private static (MultistreamNegotiator Initiator, MultistreamNegotiator Responder) Negotiate(string[] proposals, string[] supported, int chunk)
    {
        var initiator = MultistreamNegotiator.Initiator(proposals);
        var responder = MultistreamNegotiator.Responder(supported);
        var toResponder = new ArrayBufferWriter<byte>();
        var toInitiator = new ArrayBufferWriter<byte>();
        initiator.Start(toResponder);
        while (toResponder.WrittenCount > 0 || toInitiator.WrittenCount > 0)
        {
            Pump(toResponder, responder, toInitiator, chunk);
            Pump(toInitiator, initiator, toResponder, chunk);
        }
        return (initiator, responder);
    }

    private static byte[] Pump(ArrayBufferWriter<byte> from, MultistreamNegotiator to, ArrayBufferWriter<byte> answers, int chunk)
    {
        var bytes = from.WrittenSpan.ToArray();
        from.ResetWrittenCount();
        var leftover = new List<byte>();
        for (var i = 0; i < bytes.Length; i += chunk)
        {
            var piece = bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i));
            var used = to.State == NegotiationState.Negotiating ? to.Receive(piece, answers) : 0;
            if (to.State == NegotiationState.Done)
                leftover.AddRange(piece[used..].ToArray());
        }
        return [.. leftover];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    public void Both_sides_must_agree_on_the_first_supported_protocol_for_any_split(int chunk)
    {
        var (initiator, responder) = Negotiate(["/yamux/2.0.0", "/yamux/1.0.0", "/mplex/6.7.0"], ["/mplex/6.7.0", "/yamux/1.0.0"], chunk);
        Assert.Equal(NegotiationState.Done, initiator.State);
        Assert.Equal(NegotiationState.Done, responder.State);
        Assert.Equal("/yamux/1.0.0", initiator.Protocol);
        Assert.Equal("/yamux/1.0.0", responder.Protocol);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(4096)]
    public void Application_bytes_pipelined_after_the_negotiation_must_be_left_to_the_caller(int chunk)
    {
        var appData = "hello after negotiation"u8.ToArray();
        var responder = MultistreamNegotiator.Responder(["/echo/1.0.0"]);
        var input = new ArrayBufferWriter<byte>();
        input.Write(Frame(MultistreamMessage.Header, "/nope", "/echo/1.0.0"));
        input.Write(appData);

        var leftover = Pump(input, responder, new ArrayBufferWriter<byte>(), chunk);

        Assert.Equal(NegotiationState.Done, responder.State);
        Assert.Equal(appData, leftover);
    }

    [Fact]
    public void The_initiator_must_fail_when_nothing_is_supported()
    {
        var (initiator, responder) = Negotiate(["/a", "/b"], ["/c"], 1000);
        Assert.Equal(NegotiationState.Failed, initiator.State);
        Assert.Equal(MultistreamFailure.NoneSupported, initiator.Error!.Reason);
        Assert.Contains("/a, /b", initiator.Error.Message, StringComparison.Ordinal);
        Assert.Equal(NegotiationState.Negotiating, responder.State);
    }

    [Fact]
    public void The_initiator_must_send_header_and_proposal_without_waiting()
    {
        var output = new ArrayBufferWriter<byte>();
        MultistreamNegotiator.Initiator(["/noise"]).Start(output);
        Assert.Equal(Frame(MultistreamMessage.Header, "/noise"), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void The_responder_must_speak_only_after_the_remote_header()
    {
        var responder = MultistreamNegotiator.Responder(["/noise"]);
        var output = new ArrayBufferWriter<byte>();
        responder.Start(output);
        Assert.Equal(0, output.WrittenCount);
        responder.Receive(Frame(MultistreamMessage.Header), output);
        Assert.Equal(Frame(MultistreamMessage.Header), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void A_wrong_header_must_fail_the_negotiation()
    {
        var responder = MultistreamNegotiator.Responder(["/noise"]);
        responder.Receive(Frame("/multistream/2.0.0"), new ArrayBufferWriter<byte>());
        Assert.Equal(MultistreamFailure.WrongHeader, responder.Error!.Reason);
    }

    [Fact]
    public void An_unexpected_answer_must_fail_the_initiator()
    {
        var initiator = MultistreamNegotiator.Initiator(["/a"]);
        initiator.Start(new ArrayBufferWriter<byte>());
        initiator.Receive(Frame(MultistreamMessage.Header, "/b"), new ArrayBufferWriter<byte>());
        Assert.Equal(MultistreamFailure.ProtocolViolation, initiator.Error!.Reason);
    }

    [Fact]
    public void The_responder_must_cap_the_number_of_proposals()
    {
        var responder = MultistreamNegotiator.Responder(["/x"], maxAttempts: 3);
        var output = new ArrayBufferWriter<byte>();
        responder.Receive(Frame(MultistreamMessage.Header, "/a", "/b", "/c", "/d"), output);
        Assert.Equal(MultistreamFailure.TooManyAttempts, responder.Error!.Reason);
        Assert.Equal(Frame(MultistreamMessage.Header, "na", "na", "na"), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Ls_must_list_the_supported_protocols()
    {
        var responder = MultistreamNegotiator.Responder(["/a", "/bc"]);
        var output = new ArrayBufferWriter<byte>();
        responder.Receive(Frame(MultistreamMessage.Header, "ls"), output);
        var answer = output.WrittenSpan[Frame(MultistreamMessage.Header).Length..].ToArray();
        // One message holding "/a\n" and "/bc\n" framed, then a newline.
        Assert.Equal("0a" + "032f610a" + "042f62630a" + "0a", Convert.ToHexStringLower(answer));
    }

    [Fact]
    public async Task The_stream_driver_must_negotiate_over_a_real_socket_without_reading_past_it()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await listener.AcceptTcpClientAsync();
        var clientStream = client.GetStream();
        var serverStream = server.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var serving = MultistreamSelect.HandleAsync(serverStream, ["/ipfs/ping/1.0.0", "/echo/1.0.0"], timeout.Token);
        var chosen = await MultistreamSelect.SelectOneOfAsync(clientStream, ["/perf/1.0.0", "/echo/1.0.0"], timeout.Token);
        await clientStream.WriteAsync("after"u8.ToArray(), timeout.Token);

        Assert.Equal("/echo/1.0.0", chosen);
        Assert.Equal("/echo/1.0.0", await serving);
        var rest = new byte[5];
        await serverStream.ReadExactlyAsync(rest, timeout.Token);
        Assert.Equal("after"u8.ToArray(), rest);
    }

    [Fact]
    public async Task The_stream_driver_must_report_an_ended_stream()
    {
        using var stream = new MemoryStream(Frame(MultistreamMessage.Header));
        await Assert.ThrowsAsync<EndOfStreamException>(() => MultistreamSelect.SelectOneOfAsync(new ReadOnlyDuplex(stream), ["/a"]));
    }

    [Property(MaxTest = 1000)]
    public bool Random_bytes_must_end_in_a_state_never_an_exception(byte[] bytes, bool asInitiator, byte split)
    {
        var negotiator = asInitiator ? MultistreamNegotiator.Initiator(["/a", "/b"]) : MultistreamNegotiator.Responder(["/a"]);
        var output = new ArrayBufferWriter<byte>();
        negotiator.Start(output);
        // Half the runs start with a valid header so the later states are reached.
        byte[] input = split % 2 == 0 ? [.. Frame(MultistreamMessage.Header), .. bytes] : bytes;
        var chunk = Math.Max(1, split % 17);
        for (var i = 0; i < input.Length; i += chunk)
            negotiator.Receive(input.AsSpan(i, Math.Min(chunk, input.Length - i)), output);
        return negotiator.State switch
        {
            NegotiationState.Done => negotiator.Protocol is not null,
            NegotiationState.Failed => negotiator.Error is not null,
            _ => true,
        };
    }

    /// <summary>A stream whose writes go nowhere and whose reads come from a fixed buffer.</summary>
    private sealed class ReadOnlyDuplex(Stream reads) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => reads.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { }
    }
}
