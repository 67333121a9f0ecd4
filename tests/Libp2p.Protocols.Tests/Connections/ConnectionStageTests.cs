using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

public sealed class ConnectionStageTests : ConnectionTestKit
{
    private static async Task<byte> ReadOneAsync(Stream stream)
    {
        var buffer = new byte[1];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Patience);
        return buffer[0];
    }

    public static TheoryData<string, string> Paths => new()
    {
        { "tcp", "/yamux/1.0.0" },
        { "tcp", "/mplex/6.7.0" },
        { "socket", "/yamux/1.0.0" },
        { "socket", "/mplex/6.7.0" },
        { "memory", "/yamux/1.0.0" },
        { "memory", "/mplex/6.7.0" },
    };

    /// <summary>Both TCP engines, for the tests that need a socket.</summary>
    public static TheoryData<string> Engines => new() { "tcp", "socket" };

    /// <summary>Each TCP engine with each muxer.</summary>
    public static TheoryData<string, string> EnginesAndMuxers => new()
    {
        { "tcp", "/yamux/1.0.0" },
        { "tcp", "/mplex/6.7.0" },
        { "socket", "/yamux/1.0.0" },
        { "socket", "/mplex/6.7.0" },
    };

    private static (ITransport Transport, string Address) Over(string transport) =>
        transport == "memory" ? (MemoryTransport.Instance, "/memory/0") : (Tcp(transport), "/ip4/127.0.0.1/tcp/0");

    private static IReadOnlyList<MuxerFactory> Only(string muxer) =>
        muxer == MuxerFactory.Yamux.Protocol ? [MuxerFactory.Yamux] : [MuxerFactory.Mplex];

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task A_MiB_must_echo_byte_identical(string transport, string muxer)
    {
        var (t, address) = Over(transport);
        var pair = await ConnectAsync(t, address, Only(muxer));
        ServeEcho(pair.Listener);
        var data = RandomBytes(1024 * 1024);

        var echoed = await EchoAsync(pair.Dialer, data);

        Assert.Equal(data, echoed);
        Assert.Equal(muxer, (await pair.Dialer.Upgraded).Muxer);
        Assert.Equal(PeerId.FromPublicKey(DialerKey.PublicKey), (await pair.Listener.Upgraded).RemotePeer);
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("socket")]
    [InlineData("memory")]
    public async Task Sixty_four_MiB_must_echo_byte_identical_over_yamux(string transport)
    {
        var (t, address) = Over(transport);
        var pair = await ConnectAsync(t, address);
        ServeEcho(pair.Listener);
        var data = RandomBytes(64 * 1024 * 1024);

        var echoed = await EchoAsync(pair.Dialer, data);

        Assert.True(data.AsSpan().SequenceEqual(echoed), "the echo differs");
    }

    [Theory]
    [MemberData(nameof(EnginesAndMuxers))]
    public async Task Two_hundred_fifty_six_concurrent_streams_must_each_echo_their_own_data(string engine, string muxer)
    {
        var pair = await ConnectAsync(Tcp(engine), "/ip4/127.0.0.1/tcp/0", Only(muxer));
        ServeEcho(pair.Listener);
        var inputs = Enumerable.Range(0, 256).Select(i => RandomBytes(16 * 1024 + i)).ToArray();

        var outputs = await Task.WhenAll(inputs.Select(input => EchoAsync(pair.Dialer, input)));

        for (var i = 0; i < inputs.Length; i++)
            Assert.Equal(inputs[i], outputs[i]);
    }

    [Theory]
    [MemberData(nameof(EnginesAndMuxers))]
    public async Task A_stream_closed_here_must_be_released_at_once_and_reset_when_the_remote_never_closes_its_half(string engine, string muxer)
    {
        var quick = ConnectionStageSettings.Default with { StreamCloseTimeout = TimeSpan.FromMilliseconds(300) };
        var pair = await ConnectAsync(Tcp(engine), "/ip4/127.0.0.1/tcp/0", Only(muxer), listenerStage: quick);
        var silent = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        // A byte announces the stream (mplex sends nothing before it); the writer then stays open.
        silent.Sink.RunWith(Source.Single(ByteString.FromBytes([1])).Concat(Source.Never<ByteString>()), Materializer);
        var accepted = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);

        accepted.CloseWrite();
        accepted.CloseRead();

        // Released here without waiting for the remote: the owner's completion, at once.
        await accepted.Completion.WaitAsync(Patience);
        // The remote, which never closed its half, is reset once the close timeout ran out.
        var reset = await Assert.ThrowsAsync<StreamResetException>(() => silent.Completion.WaitAsync(Patience));
        Assert.Contains("reset by the remote", reset.Message);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task CloseRead_must_fail_the_read_in_progress_and_every_later_one_and_leave_writing_open(string transport, string muxer)
    {
        var (t, address) = Over(transport);
        var pair = await ConnectAsync(t, address, Only(muxer));
        var local = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        var stream = local.AsStream();
        // A byte announces the stream (mplex sends nothing before it); the remote then says nothing.
        await stream.WriteAsync(new byte[] { 1 });
        var remote = (await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience)).AsStream();
        Assert.Equal(1, await ReadOneAsync(remote));
        var reading = stream.ReadAsync(new byte[16]).AsTask();

        // As the seed's CloseRead: reads in progress end with an error that is not the end of the
        // stream, and no later read succeeds.
        local.CloseRead();

        var error = await Assert.ThrowsAsync<StreamClosedException>(() => reading.WaitAsync(Patience));
        Assert.Equal($"stream {local.Id} was closed for reading", error.Message);
        await Assert.ThrowsAsync<StreamClosedException>(() => stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Patience));
        // A source made after it fails the same way, at once.
        var other = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        other.CloseRead();
        var late = await Assert.ThrowsAsync<StreamClosedException>(() => other.Source.RunWith(Sink.Ignore<ByteString>(), Materializer).WaitAsync(Patience));
        Assert.Equal($"stream {other.Id} was closed for reading", late.Message);
        // The first one's writing half is still open.
        await stream.WriteAsync(new byte[] { 2 });
        Assert.Equal(2, await ReadOneAsync(remote));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task Half_close_must_work_in_both_directions(string transport, string muxer)
    {
        var (t, address) = Over(transport);
        var pair = await ConnectAsync(t, address, Only(muxer));
        var opened = pair.Dialer.OpenStreamAsync();
        var local = await opened.WaitAsync(Patience);
        var localIn = local.Source.RunWith(this.SinkProbe<ByteString>(), Materializer);
        var localOut = this.SourceProbe<ByteString>().To(local.Sink).Run(Materializer);
        localOut.SendNext(ByteString.FromString("ping"));
        var remote = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);
        var remoteIn = remote.Source.RunWith(this.SinkProbe<ByteString>(), Materializer);
        var remoteOut = this.SourceProbe<ByteString>().To(remote.Sink).Run(Materializer);

        // The dialer half-closes: the listener reads end-of-stream, yet can still write.
        localOut.SendComplete();
        remoteIn.Request(10);
        Assert.Equal("ping", remoteIn.ExpectNext(Patience).ToString());
        remoteIn.ExpectComplete();
        remoteOut.SendNext(ByteString.FromString("pong"));
        localIn.Request(10);
        Assert.Equal("pong", localIn.ExpectNext(Patience).ToString());

        // Then the listener half-closes too: the dialer's read side completes.
        remoteOut.SendComplete();
        localIn.ExpectComplete();
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task A_reset_must_fail_the_other_sides_reads_and_writes(string transport, string muxer)
    {
        var (t, address) = Over(transport);
        var pair = await ConnectAsync(t, address, Only(muxer));
        var local = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        var localOut = this.SourceProbe<ByteString>().To(local.Sink).Run(Materializer);
        localOut.SendNext(ByteString.FromString("hello"));
        var remote = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);
        var remoteIn = remote.Source.RunWith(this.SinkProbe<ByteString>(), Materializer);
        remoteIn.Request(1);
        remoteIn.ExpectNext(Patience);

        local.Reset();

        remoteIn.Request(1);
        var error = remoteIn.ExpectError();
        Assert.IsType<StreamResetException>(error);
        var write = this.SourceProbe<ByteString>().To(remote.Sink).Run(Materializer);
        write.ExpectCancellation();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_stalled_reader_must_hold_the_writer_back(string engine)
    {
        var pair = await ConnectAsync(Tcp(engine), "/ip4/127.0.0.1/tcp/0");
        var local = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        var writer = this.SourceProbe<ByteString>().To(local.Sink).Run(Materializer);
        var chunk = ByteString.FromBytes(new byte[64 * 1024]);
        await pair.Listener.InboundStreams.WaitToReadAsync().AsTask().WaitAsync(Patience);
        // The listener accepts the stream but never reads it.
        var sent = 0L;
        while (sent <= 64L * 1024 * 1024)
        {
            if (writer.Pending == 0)
            {
                try
                {
                    writer.ExpectRequest();
                }
                catch (Exception)
                {
                    break; // No demand within the probe's wait: the writer is held back.
                }
            }
            writer.SendNext(chunk);
            sent += chunk.Count;
        }
        // One yamux window (256 KiB) plus what sits in socket buffers, not the 64 MiB offered.
        Assert.InRange(sent, 256 * 1024, 16L * 1024 * 1024);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_slow_mplex_reader_must_pause_the_connection_and_lose_nothing(string engine)
    {
        // mplex has no flow control: a reader behind by more than 4 MiB pauses the socket, and
        // catches up well within the grace, so 16 MiB read at 16 MiB/s arrive whole.
        var pair = await ConnectAsync(Tcp(engine), "/ip4/127.0.0.1/tcp/0", [MuxerFactory.Mplex]);
        var local = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        var data = RandomBytes(16 * 1024 * 1024);
        Source.From(Chunks(data, 64 * 1024)).RunWith(local.Sink, Materializer);
        var remote = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);
        var received = await remote.Source
            .Throttle(256, TimeSpan.FromSeconds(1), 16, ThrottleMode.Shaping)
            .RunAggregate(ByteString.Empty, (all, next) => all.Concat(next), Materializer)
            .WaitAsync(Patience);
        Assert.Equal(data, received.ToArray());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task An_mplex_reader_that_stays_behind_past_the_grace_must_lose_its_stream_and_no_other(string engine)
    {
        var stage = ConnectionStageSettings.Default with { LaggardGrace = TimeSpan.FromMilliseconds(300) };
        var pair = await ConnectAsync(Tcp(engine), "/ip4/127.0.0.1/tcp/0", [MuxerFactory.Mplex], listenerStage: stage);
        var stalled = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        Source.From(Chunks(RandomBytes(8 * 1024 * 1024), 64 * 1024)).RunWith(stalled.Sink, Materializer);
        var neverRead = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);

        // The stream that is never read is reset once the grace runs out...
        await Assert.ThrowsAsync<StreamResetException>(() => neverRead.Completion.WaitAsync(Patience));
        // ...and the connection reads on: another stream still echoes.
        ServeEcho(pair.Listener);
        var data = RandomBytes(256 * 1024);
        Assert.Equal(data, await EchoAsync(pair.Dialer, data));
    }

    [Fact]
    public async Task Dialing_the_wrong_peer_must_fail_with_both_peer_IDs()
    {
        var bound = await Upgrader.Listen(Sys, Materializer, MemoryTransport.Instance, Multiaddr.Parse("/memory/0"),
            new UpgradeSettings(ListenerKey), (_, _) => { }).WaitAsync(Patience);
        using var other = PrivateKey.Generate(KeyType.Ed25519);
        var expected = PeerId.FromPublicKey(other.PublicKey);

        var dial = Upgrader.Dial(Sys, Materializer, MemoryTransport.Instance, bound.Address, new UpgradeSettings(DialerKey), expected);

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => dial.Connection.Upgraded.WaitAsync(Patience));
        Assert.Contains($"dialed {expected} but the remote is {PeerId.FromPublicKey(ListenerKey.PublicKey)}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_that_stalls_mid_handshake_must_be_cut_off()
    {
        // A listener that accepts and then says nothing.
        var bound = await MemoryTransport.Instance.Listen(Sys, Multiaddr.Parse("/memory/0"))
            .To(Sink.ForEach<InboundConnection>(c => Source.Never<ByteString>().Via(c.Flow).RunWith(Sink.Ignore<ByteString>(), Materializer)))
            .Run(Materializer).WaitAsync(Patience);
        var settings = new UpgradeSettings(DialerKey, Stage: ConnectionStageSettings.Default with { UpgradeTimeout = TimeSpan.FromMilliseconds(500) });

        var dial = Upgrader.Dial(Sys, Materializer, MemoryTransport.Instance, bound.Address, settings);

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => dial.Connection.Upgraded.WaitAsync(Patience));
        Assert.Contains("did not complete within 0.5 s", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("socket")]
    [InlineData("tcp")]
    public async Task A_connection_aborted_as_soon_as_it_is_materialized_must_never_upgrade(string transport)
    {
        var (listenOn, at) = transport == "memory" ? (MemoryTransport.Instance, "/memory/0") : (Tcp(transport), "/ip4/127.0.0.1/tcp/0");
        // The Swarm refuses an inbound connection over its limits this way: a command queued before
        // the stage started must still reach it, and before the dialer's first bytes. Those are
        // held until the abort was queued, so a thread preempted between the two cannot let the
        // handshake through first.
        var refused = new TaskCompletionSource<MuxedConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bound = await listenOn.Listen(Sys, Multiaddr.Parse(at))
            .To(Sink.ForEach<InboundConnection>(c =>
            {
                var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var held = c with { Flow = c.Flow.SelectAsync(1, async bytes => { await aborted.Task; return bytes; }) };
                var connection = Upgrader.Accept(Materializer, held, new UpgradeSettings(ListenerKey));
                connection.Abort(new InvalidOperationException("over the limit"));
                aborted.SetResult();
                refused.TrySetResult(connection);
            }))
            .Run(Materializer).WaitAsync(Patience);

        var dial = Upgrader.Dial(Sys, Materializer, listenOn, bound.Address, new UpgradeSettings(DialerKey));

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => dial.Connection.Upgraded.WaitAsync(Patience));
        // Closed, or cut while our bytes were on their way (a reset; the memory transport's words for it).
        Assert.Matches("the remote (closed|reset) the connection during the upgrade|memory: the connection was closed by the remote", error.Message);
        var listener = await refused.Task.WaitAsync(Patience);
        var reason = await Assert.ThrowsAsync<ConnectionClosedException>(() => listener.Completion.WaitAsync(Patience));
        Assert.Equal("connection failed: over the limit", reason.Message);
    }

    [Fact]
    public async Task Garbage_must_close_the_connection_with_a_clear_error()
    {
        var accepted = new TaskCompletionSource<MuxedConnection>();
        var bound = await Upgrader.Listen(Sys, Materializer, MemoryTransport.Instance, Multiaddr.Parse("/memory/0"),
            new UpgradeSettings(ListenerKey), (c, _) => accepted.TrySetResult(c)).WaitAsync(Patience);
        var garbage = MemoryTransport.Instance.Dial(Sys, bound.Address, Patience)
            .RunWith(Source.Single(ByteString.FromBytes([0x13, .. "/multistream/2.0.0\n"u8])).Concat(Source.Never<ByteString>()), Sink.Ignore<ByteString>(), Materializer);
        _ = garbage;

        var listener = await accepted.Task.WaitAsync(Patience);

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => listener.Completion.WaitAsync(Patience));
        Assert.Contains("security negotiation failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_stream_adapter_must_read_and_write_like_a_socket()
    {
        var pair = await ConnectAsync(MemoryTransport.Instance, "/memory/0");
        ServeEcho(pair.Listener);
        var stream = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        await using var io = stream.AsStream();

        await io.WriteAsync("adapter"u8.ToArray());
        var buffer = new byte[7];
        await io.ReadExactlyAsync(buffer).AsTask().WaitAsync(Patience);

        Assert.Equal("adapter"u8.ToArray(), buffer);
        io.ReadTimeout = 200;
        await Assert.ThrowsAsync<TimeoutException>(() => io.ReadAsync(buffer).AsTask());
    }

    /// <summary>A stream of an in-memory pair, through the adapter at both ends.</summary>
    private async Task<(MuxedStreamAdapter Dialer, MuxedStreamAdapter Listener)> AdapterPairAsync()
    {
        var pair = await ConnectAsync(MemoryTransport.Instance, "/memory/0");
        var stream = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        // yamux announces a stream as it opens: the remote has it before any byte is written.
        var remote = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);
        return (stream.AsStream(), remote.AsStream());
    }

    [Fact]
    public async Task A_read_past_its_deadline_must_time_out_and_leave_the_bytes_for_the_next_read()
    {
        var (io, remoteIo) = await AdapterPairAsync();
        await using var _ = io;
        await using var __ = remoteIo;
        var buffer = new byte[16];

        remoteIo.ReadTimeout = 100;
        var timedOut = await Assert.ThrowsAsync<TimeoutException>(() => remoteIo.ReadAsync(buffer).AsTask());
        Assert.Contains("read deadline of 100 ms passed", timedOut.Message, StringComparison.Ordinal);
        // The pull the timed-out read made is still with the connection: what arrives now answers
        // it, and the next read finds it, with a deadline again and then without one.
        await io.WriteAsync("late"u8.ToArray());
        remoteIo.ReadTimeout = (int)Patience.TotalMilliseconds;
        Assert.Equal(4, await remoteIo.ReadAsync(buffer).AsTask().WaitAsync(Patience));
        Assert.Equal("late"u8.ToArray(), buffer[..4]);
        remoteIo.ReadTimeout = Timeout.Infinite;
        await io.WriteAsync("again"u8.ToArray());
        Assert.Equal(5, await remoteIo.ReadAsync(buffer).AsTask().WaitAsync(Patience));
        Assert.Equal("again"u8.ToArray(), buffer[..5]);

        // A cancelled read ends with the token's exception, and leaves the stream readable too.
        using var cancel = new CancellationTokenSource();
        var cancelled = remoteIo.ReadAsync(buffer, cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => cancelled);
        await io.WriteAsync("end"u8.ToArray());
        Assert.Equal(3, await remoteIo.ReadAsync(buffer).AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task A_write_past_its_deadline_must_time_out_and_the_stream_write_on_once_the_reader_reads()
    {
        var (io, remoteIo) = await AdapterPairAsync();
        await using var _ = remoteIo;

        // Nobody reads: the yamux window fills, the writes in flight wait, and so does the next one.
        io.WriteTimeout = 200;
        var block = new byte[64 * 1024];
        long written = 0;
        TimeoutException? timedOut = null;
        for (var i = 0; i < 64 && timedOut is null; i++)
        {
            try
            {
                await io.WriteAsync(block).AsTask().WaitAsync(Patience);
                written += block.Length;
            }
            catch (TimeoutException e)
            {
                timedOut = e;
            }
        }
        Assert.NotNull(timedOut);
        Assert.Contains("write deadline of 200 ms passed", timedOut.Message, StringComparison.Ordinal);

        // The reader catches up: the slot the timed-out write waited for goes to the next one.
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await remoteIo.ReadAsync(buffer)) > 0)
                total += n;
            return total;
        });
        io.WriteTimeout = Timeout.Infinite;
        await io.WriteAsync("end"u8.ToArray()).AsTask().WaitAsync(Patience);
        await io.DisposeAsync();
        Assert.Equal(written + 3, await reading.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_zero_byte_read_must_wait_for_bytes_without_taking_them()
    {
        var (io, remoteIo) = await AdapterPairAsync();
        await using var _ = io;
        await using var __ = remoteIo;

        var waiting = remoteIo.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.False(waiting.IsCompleted); // nothing was written: it waits
        await io.WriteAsync("x"u8.ToArray());
        Assert.Equal(0, await waiting.WaitAsync(Patience));
        await io.WriteAsync("yz"u8.ToArray());
        io.Dispose();
        var buffer = new byte[8];
        var read = 0;
        int n;
        while ((n = await remoteIo.ReadAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Patience)) > 0)
            read += n;

        Assert.Equal("xyz"u8.ToArray(), buffer[..read]);
        // At the end a zero-byte read answers at once.
        Assert.Equal(0, await remoteIo.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task A_stream_read_through_the_adapter_must_hand_its_bytes_to_the_muxers_own_stages_unread_bytes_first()
    {
        var pair = await ConnectAsync(MemoryTransport.Instance, "/memory/0");
        var stream = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        await using var io = stream.AsStream();
        var remote = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);
        await using var remoteIo = remote.AsStream();

        // As after a negotiation: the adapter read the first bytes and holds the rest of a chunk.
        await io.WriteAsync("hello world"u8.ToArray());
        var first = new byte[6];
        await remoteIo.ReadExactlyAsync(first).AsTask().WaitAsync(Patience);
        var source = remoteIo.RemainingSource();
        var sink = remoteIo.RemainingSink();

        Assert.Throws<InvalidOperationException>(() => remoteIo.RemainingSource());
        Assert.Throws<InvalidOperationException>(() => remoteIo.RemainingSink());
        await Assert.ThrowsAsync<InvalidOperationException>(() => remoteIo.ReadAsync(first).AsTask());
        await Assert.ThrowsAsync<InvalidOperationException>(() => remoteIo.WriteAsync(first).AsTask());
        var received = source.RunWith(Sink.Aggregate<ByteString, ByteString>(ByteString.Empty, (all, b) => all.Concat(b)), Sys.Materializer());
        await io.WriteAsync("; and more"u8.ToArray());
        io.CloseWrite();
        Assert.Equal("world; and more", (await received.WaitAsync(Patience)).ToString());

        // The sink is the muxer's: completing it half-closes, and the dialer reads to the end.
        Source.From(new[] { ByteString.FromString("back") }).RunWith(sink, Sys.Materializer());
        var echoed = new byte[16];
        var read = 0;
        int n;
        while ((n = await io.ReadAsync(echoed.AsMemory(read)).AsTask().WaitAsync(Patience)) > 0)
            read += n;
        Assert.Equal("back", System.Text.Encoding.ASCII.GetString(echoed, 0, read));
    }

    [Fact]
    public async Task A_yamux_ping_must_measure_a_round_trip()
    {
        var pair = await ConnectAsync(MemoryTransport.Instance, "/memory/0");
        var rtt = await pair.Dialer.PingAsync().WaitAsync(Patience);
        Assert.True(rtt > TimeSpan.Zero);
    }
}

public sealed class ConnectionAfterResetTests : ConnectionTestKit
{
    [Theory]
    [InlineData("tcp", true)]
    [InlineData("tcp", false)]
    [InlineData("socket", true)]
    [InlineData("socket", false)]
    public async Task A_reset_stream_must_leave_the_connection_usable(string engine, bool listenerResets)
    {
        var pair = await ConnectAsync(Tcp(engine), "/ip4/127.0.0.1/tcp/0");
        var first = await pair.Dialer.OpenStreamAsync().WaitAsync(Patience);
        await using var io = first.AsStream();
        await io.WriteAsync("x"u8.ToArray());
        var remote = await pair.Listener.InboundStreams.ReadAsync().AsTask().WaitAsync(Patience);
        await using var remoteIo = remote.AsStream();
        var one = new byte[1];
        await remoteIo.ReadExactlyAsync(one).AsTask().WaitAsync(Patience);
        await remoteIo.WriteAsync("y"u8.ToArray());

        var (resetter, other) = listenerResets ? (remote, first) : (first, remote);
        resetter.Reset();
        var local = await Assert.ThrowsAsync<StreamResetException>(() => resetter.Completion.WaitAsync(Patience));
        Assert.Equal("stream 1 was reset locally", local.Message);
        var byRemote = await Assert.ThrowsAsync<StreamResetException>(() => other.Completion.WaitAsync(Patience));
        Assert.Equal("stream 1 was reset: reset by the remote", byRemote.Message);

        ServeEcho(pair.Listener);
        Assert.Equal("again"u8.ToArray(), await EchoAsync(pair.Dialer, "again"u8.ToArray()));
    }
}
