using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Mplex;

namespace Libp2p.Protocols.Tests.Muxing;

/// <summary>An attacker on the sans-IO codec: what an mplex peer can make us hold, and where it is charged.</summary>
public sealed class MplexLimitsTests
{
    private static (MuxerPair Pair, MplexSession Server) Pair(MplexOptions serverOptions)
    {
        var server = new MplexSession(serverOptions);
        return (new MuxerPair(new MplexSession(), server), server);
    }

    private static long Inbound(MuxerPair pair, long outbound) =>
        pair.ServerEvents.OfType<MuxerEvent.StreamOpened>().Single(o => o.StreamId == outbound + 1).StreamId;

    [Fact]
    public void Unread_bytes_must_be_charged_until_the_reader_takes_them()
    {
        var account = new TestMemoryAccount(long.MaxValue);
        var (pair, server) = Pair(new MplexOptions { Memory = account });
        var id = pair.Client.OpenStream();
        pair.Client.Send(id, new byte[100_000]);
        pair.Pump();
        var stream = Inbound(pair, id);
        Assert.Equal(100_000, account.Reserved);
        Assert.Equal(100_000, server.UnreadBytes);

        server.Consumed(stream, 60_000);
        Assert.Equal(40_000, account.Reserved);

        // Closed both ways with bytes still unread: the charge stays until the reader takes them.
        pair.Client.CloseWrite(id);
        pair.Pump();
        server.CloseWrite(stream);
        Assert.Equal(40_000, account.Reserved);
        server.Consumed(stream, 40_000);
        Assert.Equal(0, account.Reserved);
        Assert.Equal(0, server.UnreadBytes);
    }

    [Theory]
    [InlineData("local reset")]
    [InlineData("remote reset")]
    [InlineData("read closed")]
    [InlineData("disposed")]
    public void The_charge_must_go_when_the_stream_or_session_goes(string how)
    {
        var account = new TestMemoryAccount(long.MaxValue);
        var (pair, server) = Pair(new MplexOptions { Memory = account });
        var id = pair.Client.OpenStream();
        pair.Client.Send(id, new byte[50_000]);
        pair.Pump();
        var stream = Inbound(pair, id);
        Assert.Equal(50_000, account.Reserved);

        switch (how)
        {
            case "local reset": server.Reset(stream); break;
            case "remote reset": pair.Client.Reset(id); pair.Pump(); break;
            case "read closed": server.CloseRead(stream); break;
            default: server.Dispose(); break;
        }

        Assert.Equal(0, account.Reserved);
        Assert.Equal(0, server.UnreadBytes);
    }

    [Fact]
    public void A_refused_reservation_must_reset_that_stream_and_no_other()
    {
        var account = new TestMemoryAccount(150_000);
        var (pair, server) = Pair(new MplexOptions { Memory = account });
        var a = pair.Client.OpenStream();
        var b = pair.Client.OpenStream();
        pair.Client.Send(a, new byte[100_000]);
        pair.Client.Send(b, new byte[100_000]);
        pair.Pump();

        var reset = Assert.Single(pair.ServerEvents.OfType<MuxerEvent.StreamReset>());
        Assert.Equal(Inbound(pair, b), reset.StreamId);
        Assert.StartsWith("mplex: the connection's memory account refused", reset.Reason, StringComparison.Ordinal);
        Assert.Contains(pair.ClientEvents, e => e is MuxerEvent.StreamReset r && r.StreamId == b);
        Assert.DoesNotContain(pair.ClientEvents, e => e is MuxerEvent.StreamReset r && r.StreamId == a);
        Assert.InRange(account.Reserved, 100_000, 150_000);
        Assert.Equal(account.Reserved, server.UnreadBytes);
        Assert.False(server.IsClosed);
    }

    [Fact]
    public void Many_slow_streams_must_hold_no_more_than_the_session_bound()
    {
        // The finding: 100 streams whose readers are slow held 914 MB, none of it charged. Here each
        // stream stays under its own 4 MiB bound, so only the session's bound stops them.
        var account = new TestMemoryAccount(long.MaxValue);
        var (pair, server) = Pair(new MplexOptions { Memory = account, MaxSessionBuffer = 1024 * 1024 });
        var ids = Enumerable.Range(0, 100).Select(_ => pair.Client.OpenStream()).ToList();
        foreach (var id in ids)
            pair.Client.Send(id, new byte[64 * 1024]);
        pair.Pump();

        Assert.Equal(16, pair.ServerEvents.OfType<MuxerEvent.Data>().Select(d => d.StreamId).Distinct().Count());
        Assert.InRange(server.UnreadBytes, 1024 * 1024 - 64 * 1024, 1024 * 1024);
        Assert.Equal(server.UnreadBytes, account.Reserved);
        var resets = pair.ServerEvents.OfType<MuxerEvent.StreamReset>().ToList();
        Assert.Equal(100 - 16, resets.Count);
        Assert.All(resets, r => Assert.Contains("would pass the limit of 1048576", r.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void A_message_announced_large_must_hold_only_what_arrived_and_be_charged()
    {
        var account = new TestMemoryAccount(long.MaxValue);
        var session = new MplexSession(new MplexOptions { Memory = account });
        var events = new List<MuxerEvent>();
        // NewStream 0, then MessageInitiator 0 announcing 1 MiB, of which 100 bytes arrive.
        session.Receive([0x00, 0x00, 0x02, 0x80, 0x80, 0x40, .. new byte[100]], events);

        Assert.InRange(session.PartialBytes, 100, 4096);
        Assert.Equal(session.PartialBytes, account.Reserved);
        session.Dispose();
        Assert.Equal(0, account.Reserved);
    }

    [Fact]
    public void The_mplex_factory_must_charge_unread_data_to_the_connections_lease()
    {
        var account = new TestMemoryAccount(long.MaxValue);
        var session = MuxerFactory.Mplex.Create(false, account);
        var events = new List<MuxerEvent>();
        session.Receive([0x08, 0x00], events); // open stream 1
        session.Receive([0x0a, 0x03, 1, 2, 3], events);
        Assert.Equal(new byte[] { 1, 2, 3 }, Assert.Single(events.OfType<MuxerEvent.Data>()).Payload.ToArray());
        Assert.Equal(3, account.Reserved);
        Assert.True(session.ChargesReads);
    }

    [Fact]
    public void A_frame_that_arrived_in_part_must_hand_its_charge_to_its_stream_not_give_it_back_first()
    {
        // A lease gives back up its path whatever it holds beyond what it keeps, at once (its
        // scope actor runs on another thread): a frame's charge given back and asked for again a
        // moment later was refused, and js-libp2p's 1 MiB mplex messages were reset one run in two.
        var account = new ReturningAccount(keep: 256 * 1024);
        var session = new MplexSession(MplexOptions.Default with { Memory = account });
        var events = new List<MuxerEvent>();
        session.Receive([0x08, 0x00], events);
        const int size = 1024 * 1024;
        var frame = new byte[4 + size];
        frame[0] = 0x0a; // stream 1, message from the initiator
        var header = 1;
        var length = (uint)size;
        while (length >= 0x80)
        {
            frame[header++] = (byte)(length | 0x80);
            length >>= 7;
        }
        frame[header++] = (byte)length;
        for (var at = 0; at < header + size; at += 64 * 1024)
            session.Receive(frame.AsSpan(at, Math.Min(64 * 1024, header + size - at)), events);

        Assert.DoesNotContain(events, e => e is MuxerEvent.StreamReset);
        Assert.Equal(size, Assert.Single(events.OfType<MuxerEvent.Data>()).Length);
        Assert.Equal(size, account.Reserved);
    }

    /// <summary>An account that, like a lease, keeps only <paramref name="keep"/> bytes free once something is given back.</summary>
    private sealed class ReturningAccount(long keep) : IMemoryAccount
    {
        private long _available = long.MaxValue / 2;

        public long Reserved { get; private set; }

        public bool TryReserve(long bytes)
        {
            if (bytes > _available)
                return false;
            _available -= bytes;
            Reserved += bytes;
            return true;
        }

        public void Release(long bytes)
        {
            Reserved -= bytes;
            _available = Math.Min(_available + bytes, keep);
        }
    }

    [Fact]
    public void A_peer_that_opens_streams_we_refuse_without_reading_must_fail_the_session_within_the_bound()
    {
        // Streams over the owner's backlog are reset (the connection stage does so); a peer that
        // keeps opening them and never reads the resets made the queue grow without end.
        var session = new MplexSession();
        var events = new List<MuxerEvent>();
        var number = 0UL;
        for (var read = 0; read < 100 && !session.IsClosed; read++)
        {
            var input = new List<byte>();
            for (var i = 0; i < 100; i++, number++)
            {
                var header = new byte[10];
                var used = Libp2p.Protocols.Encoding.Varint.Write(number << 3, header);
                input.AddRange(header.AsSpan(0, used).ToArray());
                input.Add(0);
            }
            session.Receive(input.ToArray(), events);
            foreach (var opened in events.OfType<MuxerEvent.StreamOpened>().ToList())
                session.Reset(opened.StreamId);
            events.RemoveAll(e => e is MuxerEvent.StreamOpened);
        }

        var failed = Assert.Single(events.OfType<MuxerEvent.SessionFailed>());
        Assert.Equal("mplex: the remote made this side queue 4100 resets without reading them", failed.Error.Message);
        Assert.True(session.IsClosed);
        Assert.InRange(session.QueuedBytes, 4100 * 2, 4100 * 4);
    }
}
