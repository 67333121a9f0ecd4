using System.Buffers;
using FsCheck.Xunit;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Yamux;

namespace Libp2p.Protocols.Tests.Muxing;

public sealed class YamuxTests
{
    private static byte[] Frame(YamuxFrameType type, YamuxFlags flags, uint stream, uint length, int payload = 0)
    {
        var bytes = new byte[YamuxFrameHeader.Size + payload];
        new YamuxFrameHeader(type, flags, stream, length).Write(bytes);
        return bytes;
    }

    [Fact]
    public void The_header_must_encode_as_the_spec_lays_it_out()
    {
        var bytes = Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn | YamuxFlags.Ack, 0x01020304, 0x00040000);
        Assert.Equal("0001000301020304" + "00040000", Convert.ToHexStringLower(bytes));
        Assert.Equal(new YamuxFrameHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Syn | YamuxFlags.Ack, 0x01020304, 0x40000), YamuxFrameHeader.Read(bytes));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(13)]
    [InlineData(int.MaxValue)]
    public void A_MiB_must_cross_with_flow_control_for_any_split(int chunk)
    {
        var pair = new MuxerPair(new YamuxSession(true), new YamuxSession(false), chunk);
        var id = pair.Client.OpenStream();
        var data = new byte[1024 * 1024];
        Random.Shared.NextBytes(data);
        var sent = 0;
        for (var rounds = 0; sent < data.Length && rounds < 1000; rounds++)
        {
            sent += pair.Client.Send(id, data.AsSpan(sent));
            pair.Pump();
            // The reader consumes what arrived, which grants window back.
            foreach (var d in pair.ServerEvents.OfType<MuxerEvent.Data>().ToList())
                pair.Server.Consumed(d.StreamId, d.Length);
            pair.Pump();
        }
        Assert.Equal(data, pair.DataFor(pair.ServerEvents, id));
        Assert.Contains(new MuxerEvent.StreamOpened(id), pair.ServerEvents);
    }

    [Fact]
    public void Frames_of_one_stream_arriving_together_must_reach_the_reader_as_one_chunk()
    {
        // A 64 KiB write crosses as a full frame and a 29-byte one; another stream's bytes between
        // frames keep them apart, and two full frames would not fit one transport array.
        var pair = new MuxerPair(new YamuxSession(true), new YamuxSession(false));
        var a = pair.Client.OpenStream();
        var b = pair.Client.OpenStream();
        pair.Pump();
        pair.ServerEvents.Clear();
        var write = new byte[64 * 1024];
        Random.Shared.NextBytes(write);
        Assert.Equal(write.Length, pair.Client.Send(a, write));
        pair.Client.Send(b, "b"u8);
        pair.Client.Send(a, "a"u8);
        pair.Pump();

        var chunks = pair.ServerEvents.OfType<MuxerEvent.Data>().Select(d => (d.StreamId, d.Length)).ToList();
        Assert.Equal([(a, write.Length), (b, 1), (a, 1)], chunks);
        Assert.Equal([.. write, (byte)'a'], pair.DataFor(pair.ServerEvents, a));

        pair.ServerEvents.Clear();
        pair.Client.Send(a, new byte[2 * 65_507]);
        pair.Pump();
        Assert.Equal([65_507, 65_507], pair.ServerEvents.OfType<MuxerEvent.Data>().Select(d => d.Length));
    }

    [Fact]
    public void A_writer_must_stop_at_the_window_until_the_reader_consumes()
    {
        var pair = new MuxerPair(new YamuxSession(true), new YamuxSession(false));
        var id = pair.Client.OpenStream();
        var taken = pair.Client.Send(id, new byte[1024 * 1024]);
        Assert.Equal((int)YamuxOptions.InitialStreamWindow, taken);
        Assert.Equal(0, pair.Client.SendCapacity(id));
        pair.Pump();

        pair.Server.Consumed(id, 200 * 1024);
        pair.Pump();

        Assert.Contains(new MuxerEvent.SendWindowOpened(id), pair.ClientEvents);
        Assert.True(pair.Client.SendCapacity(id) >= 200 * 1024);
    }

    [Fact]
    public void Half_close_reset_and_close_must_reach_the_other_side()
    {
        var pair = new MuxerPair(new YamuxSession(true), new YamuxSession(false));
        var a = pair.Client.OpenStream();
        var b = pair.Client.OpenStream();
        pair.Client.Send(a, "x"u8);
        pair.Client.CloseWrite(a);
        pair.Client.Reset(b);
        pair.Pump();
        Assert.Contains(new MuxerEvent.RemoteClosed(a), pair.ServerEvents);
        Assert.Contains(pair.ServerEvents, e => e is MuxerEvent.StreamReset r && r.StreamId == b);

        pair.Server.CloseWrite(a);
        pair.Pump();
        Assert.Contains(new MuxerEvent.StreamClosed(a), pair.ClientEvents);
    }

    [Fact]
    public void A_ping_must_be_answered_with_its_opaque_value()
    {
        var server = new YamuxSession(false);
        var events = new List<MuxerEvent>();
        server.Receive(Frame(YamuxFrameType.Ping, YamuxFlags.Syn, 0, 0xcafe), events);
        var output = new ArrayBufferWriter<byte>();
        server.DrainOutput(output);
        Assert.Equal(Frame(YamuxFrameType.Ping, YamuxFlags.Ack, 0, 0xcafe), output.WrittenSpan.ToArray());

        var pair = new MuxerPair(new YamuxSession(true), new YamuxSession(false));
        Assert.True(pair.Client.Ping());
        Assert.False(pair.Client.Ping());
        pair.Pump();
        Assert.Contains(pair.ClientEvents, e => e is MuxerEvent.PingAnswered);
    }

    [Fact]
    public void Go_away_must_stop_new_streams()
    {
        var pair = new MuxerPair(new YamuxSession(true), new YamuxSession(false));
        pair.Server.Close();
        pair.Pump();
        Assert.Contains(new MuxerEvent.RemoteGoingAway(YamuxGoAway.Normal), pair.ClientEvents);
        Assert.Throws<MuxerException>(() => pair.Client.OpenStream());
    }

    public static TheoryData<string, byte[]> Violations => new()
    {
        { "unsupported version 1", [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0] },
        { "unknown frame type 4", [0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0] },
        { "whose parity is this side's", Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 2, 0) },
        { "exceed the window of 262144", Frame(YamuxFrameType.Data, YamuxFlags.Syn, 1, 262_145) },
        { "opened stream 1 twice", [.. Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0), .. Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0)] },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public void Protocol_violations_must_fail_the_session_and_send_go_away(string reason, byte[] input)
    {
        // A server: the client's (remote's) streams are odd.
        var session = new YamuxSession(false);
        var events = new List<MuxerEvent>();
        session.Receive(input, events);

        var failed = Assert.Single(events.OfType<MuxerEvent.SessionFailed>());
        Assert.Contains(reason, failed.Error.Message, StringComparison.Ordinal);
        Assert.True(session.IsClosed);
        var output = new ArrayBufferWriter<byte>();
        session.DrainOutput(output);
        Assert.Equal(Frame(YamuxFrameType.GoAway, YamuxFlags.None, 0, YamuxGoAway.ProtocolError), output.WrittenSpan[^12..].ToArray());
    }

    [Fact]
    public void Inbound_streams_beyond_the_limit_must_be_reset()
    {
        var session = new YamuxSession(false, new YamuxOptions { MaxIncomingStreams = 2 });
        var events = new List<MuxerEvent>();
        foreach (var id in new uint[] { 1, 3, 5 })
            session.Receive(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, id, 0), events);
        Assert.Equal(2, events.OfType<MuxerEvent.StreamOpened>().Count());
        var output = new ArrayBufferWriter<byte>();
        session.DrainOutput(output);
        Assert.Equal(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, 5, 0), output.WrittenSpan[^12..].ToArray());
    }

    [Fact]
    public void The_window_must_grow_when_drained_within_a_few_round_trips()
    {
        long now = 0;
        var options = new YamuxOptions { Clock = () => now };
        var pair = new MuxerPair(new YamuxSession(true, options), new YamuxSession(false, options));
        pair.Server.Ping();
        now += 1000;
        pair.Pump(); // the server now knows an RTT of 1000 ticks
        var id = pair.Client.OpenStream();
        pair.Pump();
        pair.Client.Send(id, new byte[256 * 1024]);
        pair.Pump();
        pair.Server.Consumed(id, 256 * 1024); // drained at once: well within 4 RTT
        pair.Pump();
        Assert.Equal(512 * 1024, pair.Client.SendCapacity(id));
    }

    private sealed class Account(long available) : IMemoryAccount
    {
        public long Reserved { get; private set; }

        public bool TryReserve(long bytes)
        {
            if (Reserved + bytes > available)
                return false;
            Reserved += bytes;
            return true;
        }

        public void Release(long bytes) => Reserved -= bytes;
    }

    [Theory]
    [InlineData(1024 * 1024, 512 * 1024)]
    [InlineData(0, 256 * 1024)]
    public void Window_growth_must_reserve_memory_and_keep_the_window_when_refused(long available, int expectedWindow)
    {
        long now = 0;
        var account = new Account(available);
        var pair = new MuxerPair(new YamuxSession(true, new YamuxOptions { Clock = () => now }), new YamuxSession(false, new YamuxOptions { Clock = () => now, Memory = account }));
        pair.Server.Ping();
        now += 1000;
        pair.Pump();
        var id = pair.Client.OpenStream();
        pair.Pump();
        pair.Client.Send(id, new byte[256 * 1024]);
        pair.Pump();
        pair.Server.Consumed(id, 256 * 1024);
        pair.Pump();

        Assert.Equal(expectedWindow, pair.Client.SendCapacity(id));
        Assert.Equal(expectedWindow - 256 * 1024, account.Reserved);
        pair.Server.Reset(id);
        Assert.Equal(0, account.Reserved);
    }

    [Property(MaxTest = 500)]
    public bool Random_bytes_must_end_in_events_or_a_session_failure(byte[] bytes, bool client)
    {
        var session = new YamuxSession(client);
        var events = new List<MuxerEvent>();
        session.Receive(bytes, events);
        return !session.IsClosed || events.OfType<MuxerEvent.SessionFailed>().Count() == 1;
    }

    [Property(MaxTest = 500)]
    public bool Random_frames_must_end_in_events_or_a_session_failure(byte type, byte flags, uint stream, ushort length, bool client)
    {
        var session = new YamuxSession(client);
        var events = new List<MuxerEvent>();
        var frame = Frame((YamuxFrameType)(type % 5), (YamuxFlags)(flags & 0xf), stream % 8, length, type % 5 == 0 ? length : 0);
        session.Receive(frame, events);
        session.Receive(frame, events);
        return !session.IsClosed || events.OfType<MuxerEvent.SessionFailed>().Count() == 1;
    }
}
