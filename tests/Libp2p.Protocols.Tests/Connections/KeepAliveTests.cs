using Akka;
using Akka.IO;
using Akka.Streams.Dsl;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>The connection stage's keep-alive: only a connection whose remote went quiet is pinged.</summary>
public sealed class KeepAliveTests : ConnectionTestKit
{
    private static readonly ByteString Pong = ByteString.FromBytes([0xFF]);
    private static readonly ByteString Speech = ByteString.FromBytes([1]);

    [Fact]
    public async Task A_remote_that_keeps_speaking_must_not_be_pinged_and_one_gone_quiet_must_be_and_cut_off_if_it_never_answers()
    {
        const int spoken = 15;
        var core = new PingCountingCore(ListenerKey.PublicKey);
        var settings = new ConnectionStageSettings(TimeSpan.FromSeconds(15), 16, TimeSpan.FromMilliseconds(500));
        // The remote answers the first ping (the round trip measured at the upgrade), then sends a
        // frame every 50 ms, ten per keep-alive interval, for 750 ms, then nothing at all.
        var remote = Source.Single(Pong)
            .Concat(Source.Tick(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50), Speech).Take(spoken).MapMaterializedValue(_ => NotUsed.Instance))
            .Concat(Source.Never<ByteString>());
        var handle = remote.ViaMaterialized(Flow.FromGraph(new ConnectionStage(() => core, settings)), Keep.Right)
            .To(Sink.Ignore<ByteString>())
            .Run(Materializer);

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => handle.Completion.WaitAsync(Patience));

        Assert.IsType<TimeoutException>(error.InnerException);
        // The first ping, then one only once the remote had said all it would say.
        Assert.Equal([0, spoken], core.SpokenAtEachPing);
    }

    [Fact]
    public async Task Answers_to_our_own_pings_must_not_count_as_the_remote_speaking()
    {
        var core = new PingCountingCore(ListenerKey.PublicKey);
        var settings = new ConnectionStageSettings(TimeSpan.FromSeconds(15), 16, TimeSpan.FromMilliseconds(200));
        // Every ping is answered at once, and nothing else ever comes. The first, sent as the stage
        // starts (maybe before Run returns), by the Pong the remote starts with; every later one
        // through the queue, known before the stage starts.
        Akka.Streams.ISourceQueueWithComplete<ByteString>? answers = null;
        core.Pinged = () =>
        {
            if (core.SpokenAtEachPing.Count > 1)
                _ = answers!.OfferAsync(Pong);
        };
        var handle = Source.Single(Pong)
            .Concat(Source.Queue<ByteString>(16, Akka.Streams.OverflowStrategy.Fail).MapMaterializedValue(q =>
            {
                answers = q;
                return NotUsed.Instance;
            }))
            .ViaMaterialized(Flow.FromGraph(new ConnectionStage(() => core, settings)), Keep.Right)
            .To(Sink.Ignore<ByteString>())
            .Run(Materializer);

        // Still pinged at every tick: a pong alone proves nothing the ping did not ask.
        await AwaitAssertAsync(() => Assert.True(core.SpokenAtEachPing.Count >= 4), Patience);
        Assert.False(handle.Completion.IsCompleted);
        handle.Abort(new InvalidOperationException("done"));
    }

    [Fact]
    public async Task A_zero_interval_must_turn_keep_alive_off()
    {
        var core = new PingCountingCore(ListenerKey.PublicKey);
        var settings = new ConnectionStageSettings(TimeSpan.FromSeconds(15), 16, TimeSpan.Zero);
        // The round-trip ping of the upgrade is never answered: a keep-alive tick would close the connection.
        var (queue, handle) = Source.Queue<ByteString>(16, Akka.Streams.OverflowStrategy.Fail)
            .ViaMaterialized(Flow.FromGraph(new ConnectionStage(() => core, settings)), Keep.Both)
            .To(Sink.Ignore<ByteString>())
            .Run(Materializer);
        await queue.OfferAsync(Speech);
        await AwaitAssertAsync(() => Assert.Single(core.SpokenAtEachPing), Patience);

        // As Akka.TestKit's ExpectNoMsg: nothing may happen within a while.
        var ended = await Task.WhenAny(handle.Completion, Task.Delay(TimeSpan.FromMilliseconds(500)));

        Assert.NotSame(handle.Completion, ended);
        Assert.Equal([0], core.SpokenAtEachPing);
        handle.Abort(new InvalidOperationException("done"));
    }

    [Property(MaxTest = 500)]
    public Property A_keep_alive_tick_must_come_after_at_least_the_interval_on_the_grid_all_connections_share(uint now, ushort intervalMilliseconds)
    {
        var interval = TimeSpan.FromMilliseconds(intervalMilliseconds + 1);
        var grid = ConnectionStage.KeepAliveGrid(interval);

        var delay = (long)ConnectionStage.KeepAliveDelay(now, interval).TotalMilliseconds;

        return (delay >= (long)interval.TotalMilliseconds && delay < (long)interval.TotalMilliseconds + grid && (now + delay) % grid == 0).ToProperty();
    }

    [Fact]
    public void Connections_whose_ticks_fall_due_within_one_grid_step_must_tick_together()
    {
        var interval = TimeSpan.FromSeconds(30);

        // Three connections whose ticks fall due within one step of the grid (30 s / 8 = 3.75 s,
        // steps ending at multiples of it: 1,031,250 is one) tick at its end; one due a millisecond
        // later ticks at the next step's.
        long TickOf(long now) => now + (long)ConnectionStage.KeepAliveDelay(now, interval).TotalMilliseconds;

        Assert.Equal([1_031_250, 1_031_250, 1_031_250, 1_035_000], new[] { TickOf(997_501), TickOf(999_000), TickOf(1_001_250), TickOf(1_001_251) });
    }

    /// <summary>
    /// A core upgraded from the start whose remote's bytes are either the answer to our ping
    /// (<see cref="Pong"/>, one <see cref="MuxerEvent.PingAnswered"/>) or anything else (no event,
    /// as a remote's ping or a window update makes). It records how much the remote had said at each ping.
    /// </summary>
    private sealed class PingCountingCore(PublicKey remote) : UpgradedCoreStub(remote)
    {
        private int _spoken;

        public List<int> SpokenAtEachPing { get; } = [];

        public Action? Pinged { get; set; }

        public override void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
        {
            if (input.SequenceEqual(Pong.ToReadOnlySpan()))
                events.Add(new MuxerEvent.PingAnswered());
            else
                _spoken++;
        }

        public override bool Ping()
        {
            SpokenAtEachPing.Add(_spoken);
            Pinged?.Invoke();
            return true;
        }
    }
}
