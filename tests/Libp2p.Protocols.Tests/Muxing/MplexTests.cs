using System.Buffers;
using FsCheck.Xunit;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Mplex;

namespace Libp2p.Protocols.Tests.Muxing;

public sealed class MplexTests
{
    [Fact]
    public void Messages_must_encode_as_the_spec_says()
    {
        var session = new MplexSession();
        var id = session.OpenStream();
        session.Send(id, "hi"u8);
        session.CloseWrite(id);
        var output = new ArrayBufferWriter<byte>();
        session.DrainOutput(output);
        // NewStream(0) "0"; MessageInitiator(0) "hi"; CloseInitiator(0).
        Assert.Equal("000130" + "02026869" + "0400", Convert.ToHexStringLower(output.WrittenSpan));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(int.MaxValue)]
    public void Both_sides_may_use_the_same_numbers_for_their_own_streams(int chunk)
    {
        var pair = new MuxerPair(new MplexSession(), new MplexSession(), chunk);
        var mine = pair.Client.OpenStream();
        var theirs = pair.Server.OpenStream();
        pair.Client.Send(mine, "from client"u8);
        pair.Server.Send(theirs, "from server"u8);
        pair.Pump();

        var atServer = Assert.Single(pair.ServerEvents.OfType<MuxerEvent.StreamOpened>()).StreamId;
        var atClient = Assert.Single(pair.ClientEvents.OfType<MuxerEvent.StreamOpened>()).StreamId;
        Assert.Equal("from client"u8.ToArray(), pair.DataFor(pair.ServerEvents, atServer));
        Assert.Equal("from server"u8.ToArray(), pair.DataFor(pair.ClientEvents, atClient));

        pair.Server.Send(atServer, "answer"u8);
        pair.Server.CloseWrite(atServer);
        pair.Client.CloseWrite(mine);
        pair.Pump();
        Assert.Equal("answer"u8.ToArray(), pair.DataFor(pair.ClientEvents, mine));
        Assert.Contains(new MuxerEvent.RemoteClosed(mine), pair.ClientEvents);
        Assert.Contains(new MuxerEvent.StreamClosed(atServer), pair.ServerEvents);
    }

    [Fact]
    public void A_reset_must_reach_the_other_side()
    {
        var pair = new MuxerPair(new MplexSession(), new MplexSession());
        var id = pair.Client.OpenStream();
        pair.Pump();
        pair.Client.Reset(id);
        pair.Pump();
        Assert.Contains(pair.ServerEvents, e => e is MuxerEvent.StreamReset);
    }

    [Fact]
    public void A_reader_that_falls_behind_must_pause_the_input_until_it_catches_up()
    {
        var pair = new MuxerPair(new MplexSession(), new MplexSession(new MplexOptions { MaxStreamBuffer = 100_000 }));
        var id = pair.Client.OpenStream();
        pair.Client.Send(id, new byte[150_000]);
        pair.Pump();
        Assert.Empty(pair.ServerEvents.OfType<MuxerEvent.StreamReset>());
        Assert.True(pair.Server.InputPaused);
        var stream = pair.ServerEvents.OfType<MuxerEvent.StreamOpened>().Single().StreamId;
        pair.Server.Consumed(stream, 60_000);
        Assert.False(pair.Server.InputPaused);
    }

    [Fact]
    public void A_reader_still_behind_when_the_grace_ends_must_lose_its_stream()
    {
        var pair = new MuxerPair(new MplexSession(), new MplexSession(new MplexOptions { MaxStreamBuffer = 100_000 }));
        var id = pair.Client.OpenStream();
        pair.Client.Send(id, new byte[150_000]);
        pair.Pump();
        pair.Server.ShedLaggards(pair.ServerEvents);
        var reset = Assert.Single(pair.ServerEvents.OfType<MuxerEvent.StreamReset>());
        Assert.Contains("stayed more than 100000 bytes behind", reset.Reason, StringComparison.Ordinal);
        Assert.False(pair.Server.InputPaused);
        pair.Pump();
        Assert.Contains(pair.ClientEvents, e => e is MuxerEvent.StreamReset);
    }

    [Fact]
    public void A_reader_twice_the_bound_behind_must_lose_its_stream_at_once()
    {
        var pair = new MuxerPair(new MplexSession(), new MplexSession(new MplexOptions { MaxStreamBuffer = 100_000 }));
        var id = pair.Client.OpenStream();
        pair.Client.Send(id, new byte[250_000]);
        pair.Pump();
        var reset = Assert.Single(pair.ServerEvents.OfType<MuxerEvent.StreamReset>());
        Assert.Contains("fell more than 200000 bytes behind", reset.Reason, StringComparison.Ordinal);
        Assert.False(pair.Server.InputPaused);
    }

    [Theory]
    [InlineData("07", "unknown message flag 7")]
    [InlineData("0081808001", "over the limit of 1048576")]
    [InlineData("ffffffffffffffffff01", "not a valid varint")]
    [InlineData("00000000", "opened stream 0 twice")]
    public void Garbage_must_fail_the_session_with_the_reason(string hex, string reason)
    {
        var session = new MplexSession();
        var events = new List<MuxerEvent>();
        session.Receive(Convert.FromHexString(hex), events);
        var failed = Assert.Single(events.OfType<MuxerEvent.SessionFailed>());
        Assert.Contains(reason, failed.Error.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 500)]
    public bool Random_bytes_must_end_in_events_or_a_session_failure(byte[] bytes)
    {
        var session = new MplexSession();
        var events = new List<MuxerEvent>();
        session.Receive(bytes, events);
        return !session.IsClosed || events.OfType<MuxerEvent.SessionFailed>().Count() == 1;
    }
}
