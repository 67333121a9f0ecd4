using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using FsCheck.Xunit;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Transport.WebSockets;

/// <summary>The stage alone, its wire side fed and collected by hand.</summary>
public sealed class WebSocketStageTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly IMaterializer _materializer;

    public WebSocketStageTests() : base("akka.loglevel = WARNING") => _materializer = Sys.Materializer();

    /// <summary>Runs a server stage on <paramref name="wire"/> cut into pieces of <paramref name="piece"/> bytes; gives what it passed up and what it sent.</summary>
    private async Task<(byte[] Up, byte[] Sent)> ServeAsync(byte[] wire, int piece)
    {
        var pieces = Enumerable.Range(0, (wire.Length + piece - 1) / piece)
            .Select(i => ByteString.FromBytes(wire, i * piece, Math.Min(piece, wire.Length - i * piece)));
        var sent = new TaskCompletionSource<byte[]>();
        var wireSide = Flow.FromSinkAndSource(
            Sink.Aggregate<ByteString, List<byte>>([], (all, b) =>
            {
                all.AddRange(b.ToArray());
                return all;
            }).MapMaterializedValue(t =>
            {
                t.ContinueWith(r => sent.TrySetResult([.. r.Result]), TaskContinuationOptions.OnlyOnRanToCompletion);
                return Akka.NotUsed.Instance;
            }),
            Source.From(pieces));
        var up = await Source.Never<ByteString>()
            .Via(WebSocketStage.Server().Join(wireSide))
            .RunAggregate(new List<byte>(), (all, b) =>
            {
                all.AddRange(b.ToArray());
                return all;
            }, _materializer).WaitAsync(Patience);
        return ([.. up], await sent.Task.WaitAsync(Patience));
    }

    [Property(MaxTest = 60)]
    public async Task<bool> Any_cut_of_the_input_must_pass_up_the_same_payloads_and_answer_each_ping(byte[][] payloads, byte pieceByte)
    {
        var piece = 1 + pieceByte % 40;
        var wire = new List<byte>(RawWebSocket.Request());
        var expected = new List<byte>();
        for (var i = 0; i < payloads.Length; i++)
        {
            var payload = payloads[i] ?? [];
            expected.AddRange(payload);
            if (i % 2 == 0)
            {
                wire.AddRange(RawWebSocket.Frame(0x82, payload));
            }
            else
            {
                // In two fragments, a ping between them.
                var half = payload.Length / 2;
                wire.AddRange(RawWebSocket.Frame(0x02, payload[..half]));
                wire.AddRange(RawWebSocket.Frame(0x89, [(byte)i]));
                wire.AddRange(RawWebSocket.Frame(0x80, payload[half..]));
            }
        }

        var (up, sent) = await ServeAsync([.. wire], piece);

        var head = System.Text.Encoding.ASCII.GetString(sent);
        var switching = head.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", StringComparison.Ordinal);
        // Pongs answer pings in order; a ping that came while a pong still waited may go unanswered (RFC 6455 §5.5.3).
        var pings = Enumerable.Range(0, payloads.Length).Where(i => i % 2 == 1).Select(i => (byte)i).ToList();
        var pongs = new List<byte>();
        using var frames = new MemoryStream(sent, head.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4, sent.Length - head.IndexOf("\r\n\r\n", StringComparison.Ordinal) - 4);
        while (frames.Position < frames.Length)
        {
            var (opcode, masked, payload) = await RawWebSocket.ReadFrameAsync(frames);
            if (opcode != WebSocketOpcode.Pong || masked || payload.Length != 1)
                return false;
            pongs.Add(payload[0]);
        }
        var answered = pongs.SequenceEqual(pongs.Distinct().Order()) && pongs.All(pings.Contains) && (pings.Count == 0 || pongs.Count > 0);
        return up.AsSpan().SequenceEqual(expected.ToArray()) && switching && answered;
    }

    [Fact]
    public async Task A_close_frame_must_be_echoed_with_its_code_and_end_the_flow_up_after_the_data_before_it()
    {
        byte[] wire = [.. RawWebSocket.Request(), .. RawWebSocket.Frame(0x82, [1, 2, 3]), .. RawWebSocket.Frame(0x88, WebSocketFrameCodec.ClosePayload(WebSocketCloseCode.Normal, "bye")),
            .. RawWebSocket.Frame(0x82, [4])];

        var (up, sent) = await ServeAsync(wire, 5);

        // Nothing after the close frame is read.
        Assert.Equal([1, 2, 3], up);
        var head = System.Text.Encoding.ASCII.GetString(sent);
        var frames = sent.AsSpan(head.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4).ToArray();
        using var stream = new MemoryStream(frames);
        var (opcode, masked, payload) = await RawWebSocket.ReadFrameAsync(stream);
        Assert.Equal((WebSocketOpcode.Close, false), (opcode, masked));
        Assert.Equal([0x03, 0xE8], payload);
        Assert.Equal(stream.Length, stream.Position);
    }

    [Fact]
    public async Task A_close_with_an_error_status_must_fail_the_flow_up_with_the_status_and_reason()
    {
        byte[] wire = [.. RawWebSocket.Request(), .. RawWebSocket.Frame(0x88, WebSocketFrameCodec.ClosePayload((WebSocketCloseCode)4000, "going"))];

        var error = await Assert.ThrowsAsync<WebSocketProtocolException>(() => ServeAsync(wire, 1000));

        Assert.Equal("websocket: the remote closed the connection with status 4000: going", error.Message);
    }
}
