using System.Buffers;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Yamux;

namespace Libp2p.Protocols.Tests.Muxing;

/// <summary>An attacker on the sans-IO codec: what a yamux peer can make us hold, and how it ends.</summary>
public sealed class YamuxLimitsTests
{
    private static byte[] Frame(YamuxFrameType type, YamuxFlags flags, uint stream, uint length, int payload = 0)
    {
        var bytes = new byte[YamuxFrameHeader.Size + payload];
        new YamuxFrameHeader(type, flags, stream, length).Write(bytes);
        return bytes;
    }

    private static byte[] Repeat(Func<int, byte[]> frame, int from, int count) =>
        Enumerable.Range(from, count).SelectMany(frame).ToArray();

    private static void AssertEndsWithProtocolErrorGoAway(YamuxSession session)
    {
        var output = new ArrayBufferWriter<byte>();
        session.DrainOutput(output);
        Assert.Equal(Frame(YamuxFrameType.GoAway, YamuxFlags.None, 0, YamuxGoAway.ProtocolError), output.WrittenSpan[^12..].ToArray());
        Assert.Equal(0, session.QueuedBytes);
    }

    [Fact]
    public void A_peer_that_floods_pings_without_reading_the_answers_must_fail_the_session_within_the_bound()
    {
        // The finding: 20 M pings, never read, held 1.57 GB. Here 100,000 pings in 1,000-ping reads.
        var session = new YamuxSession(false);
        var events = new List<MuxerEvent>();
        for (var i = 0; i < 100 && !session.IsClosed; i++)
            session.Receive(Repeat(n => Frame(YamuxFrameType.Ping, YamuxFlags.Syn, 0, (uint)n), i * 1000, 1000), events);

        var failed = Assert.Single(events.OfType<MuxerEvent.SessionFailed>());
        Assert.Equal("yamux: the remote sent 257 pings without reading the answers", failed.Error.Message);
        Assert.True(session.IsClosed);
        // 257 answers and the go-away; nothing after the failure is parsed or kept.
        Assert.Equal(258 * YamuxFrameHeader.Size, session.QueuedBytes);
        Assert.Equal(0, session.PartialBytes);
        AssertEndsWithProtocolErrorGoAway(session);
    }

    [Fact]
    public void A_peer_that_reads_its_ping_answers_must_keep_its_session()
    {
        var session = new YamuxSession(false);
        var events = new List<MuxerEvent>();
        var output = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 100; i++)
        {
            session.Receive(Repeat(n => Frame(YamuxFrameType.Ping, YamuxFlags.Syn, 0, (uint)n), i * 200, 200), events);
            session.DrainOutput(output);
        }
        Assert.False(session.IsClosed);
        Assert.Empty(events);
        Assert.Equal(20_000 * YamuxFrameHeader.Size, output.WrittenCount);
    }

    [Fact]
    public void A_peer_that_opens_and_resets_streams_without_reading_must_fail_the_session_within_the_bound()
    {
        // Each stream it opens earns an acknowledgement; resetting it frees the slot for the next.
        var session = new YamuxSession(false);
        var events = new List<MuxerEvent>();
        var churn = Repeat(n => [.. Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, (uint)(2 * n + 1), 0),
            .. Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, (uint)(2 * n + 1), 0)], 0, 10_000);
        for (var offset = 0; offset < churn.Length && !session.IsClosed; offset += 4800)
            session.Receive(churn.AsSpan(offset, Math.Min(4800, churn.Length - offset)), events);

        var failed = Assert.Single(events.OfType<MuxerEvent.SessionFailed>());
        Assert.Equal("yamux: the remote made this side queue 4097 frames in answer (acknowledgements, window updates, resets, ping answers) without reading them", failed.Error.Message);
        Assert.Equal(4098 * YamuxFrameHeader.Size, session.QueuedBytes);
        AssertEndsWithProtocolErrorGoAway(session);
    }

    [Fact]
    public void A_window_update_that_overflows_the_send_window_must_fail_the_session()
    {
        var session = new YamuxSession(false);
        var events = new List<MuxerEvent>();
        session.Receive(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0), events);
        // Up to 2^32 - 1 exactly is allowed...
        session.Receive(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.None, 1, uint.MaxValue - YamuxOptions.InitialStreamWindow), events);
        Assert.False(session.IsClosed);
        Assert.Equal(int.MaxValue, session.SendCapacity(1));
        // ...one more byte overflows: the spec's protocol error, not a wrap (it wrapped to 0 before).
        session.Receive(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.None, 1, 1), events);

        var failed = Assert.Single(events.OfType<MuxerEvent.SessionFailed>());
        Assert.Equal($"yamux: a window update of 1 on stream 1 overflows its send window of {uint.MaxValue}", failed.Error.Message);
        Assert.True(session.IsClosed);
        AssertEndsWithProtocolErrorGoAway(session);
    }

    [Fact]
    public void A_frame_announced_large_must_hold_only_what_arrived_and_never_more_than_its_size()
    {
        var account = new TestMemoryAccount(long.MaxValue);
        var session = new YamuxSession(false, new YamuxOptions { Memory = account });
        var events = new List<MuxerEvent>();
        const int length = (int)YamuxOptions.InitialStreamWindow;
        var frame = Frame(YamuxFrameType.Data, YamuxFlags.Syn, 1, length, length);

        // The header and a few bytes: a small buffer, not the announced 256 KiB.
        session.Receive(frame.AsSpan(0, 100), events);
        Assert.InRange(session.PartialBytes, 100, 4096);
        // Not charged again: the bytes lie within the window this side granted.
        Assert.Equal(0, account.Reserved);

        // All but the last byte, in 1000-byte reads: the buffer stops at the frame's size (it doubled to 512 KiB before).
        for (var offset = 100; offset < frame.Length - 1; offset += 1000)
            session.Receive(frame.AsSpan(offset, Math.Min(1000, frame.Length - 1 - offset)), events);
        Assert.Equal(frame.Length, session.PartialBytes);
        Assert.Equal(0, account.Reserved);
        Assert.Empty(events.OfType<MuxerEvent.Data>());

        // The last byte completes it: the buffer and its charge are given back.
        session.Receive(frame.AsSpan(frame.Length - 1), events);
        Assert.Equal(length, events.OfType<MuxerEvent.Data>().Sum(d => d.Length));
        Assert.Equal(0, session.PartialBytes);
        Assert.Equal(0, account.Reserved);
        Assert.False(session.IsClosed);
    }

    [Fact]
    public void A_frame_longer_than_the_window_must_fail_before_anything_is_kept()
    {
        var account = new TestMemoryAccount(long.MaxValue);
        var session = new YamuxSession(false, new YamuxOptions { Memory = account });
        var events = new List<MuxerEvent>();
        var header = Frame(YamuxFrameType.Data, YamuxFlags.Syn, 1, 16 * 1024 * 1024);
        // Even when the header itself arrives in pieces.
        session.Receive(header.AsSpan(0, 5), events);
        session.Receive(header.AsSpan(5), events);

        var failed = Assert.Single(events.OfType<MuxerEvent.SessionFailed>());
        Assert.Equal("yamux: 16777216 bytes of data on stream 1 exceed the window of 262144", failed.Error.Message);
        Assert.Equal(0, session.PartialBytes);
        Assert.Equal(0, account.Reserved);
        Assert.True(account.Peak <= 4096);
    }

    [Fact]
    public void Disposing_a_session_must_give_back_its_kept_frame_and_queued_output()
    {
        var account = new TestMemoryAccount(long.MaxValue);
        var session = new YamuxSession(false, new YamuxOptions { Memory = account });
        var events = new List<MuxerEvent>();
        session.Receive([.. Frame(YamuxFrameType.Ping, YamuxFlags.Syn, 0, 1), .. Frame(YamuxFrameType.Data, YamuxFlags.Syn, 1, 1000, 500)], events);
        Assert.True(session.PartialBytes > 0);
        Assert.True(session.QueuedBytes > 0);

        session.Dispose();

        Assert.Equal(0, session.PartialBytes);
        Assert.Equal(0, session.QueuedBytes);
        Assert.Equal(0, account.Reserved);
    }

    [Fact]
    public void Window_updates_for_a_stream_must_add_up_in_one_frame_while_it_waits()
    {
        var session = new YamuxSession(false);
        var events = new List<MuxerEvent>();
        session.Receive(Frame(YamuxFrameType.Data, YamuxFlags.Syn, 1, YamuxOptions.InitialStreamWindow, (int)YamuxOptions.InitialStreamWindow), events);
        var output = new ArrayBufferWriter<byte>();
        session.DrainOutput(output); // the ACK
        output.ResetWrittenCount();

        session.Consumed(1, 128 * 1024);
        session.Consumed(1, 128 * 1024);
        session.DrainOutput(output);
        Assert.Equal(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.None, 1, 256 * 1024), output.WrittenSpan.ToArray());

        // Once drained, the next grant is a frame of its own.
        output.ResetWrittenCount();
        session.Receive(Frame(YamuxFrameType.Data, YamuxFlags.None, 1, 200_000, 200_000), events);
        session.Consumed(1, 200_000);
        session.DrainOutput(output);
        Assert.Equal(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.None, 1, 200_000), output.WrittenSpan.ToArray());
    }
}
