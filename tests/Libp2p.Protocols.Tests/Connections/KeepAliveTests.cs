using System.Buffers;
using Akka;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Peer;

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
        // Every ping is answered at once, and nothing else ever comes.
        var (queue, handle) = Source.Queue<ByteString>(16, Akka.Streams.OverflowStrategy.Fail)
            .ViaMaterialized(Flow.FromGraph(new ConnectionStage(() => core, settings)), Keep.Both)
            .To(Sink.Ignore<ByteString>())
            .Run(Materializer);
        core.Pinged = () => _ = queue.OfferAsync(Pong);

        // Still pinged at every tick: a pong alone proves nothing the ping did not ask.
        await AwaitAssertAsync(() => Assert.True(core.SpokenAtEachPing.Count >= 4), Patience);
        Assert.False(handle.Completion.IsCompleted);
        handle.Abort(new InvalidOperationException("done"));
    }

    /// <summary>
    /// A core upgraded from the start whose remote's bytes are either the answer to our ping
    /// (<see cref="Pong"/>, one <see cref="MuxerEvent.PingAnswered"/>) or anything else (no event,
    /// as a remote's ping or a window update makes). It records how much the remote had said at each ping.
    /// </summary>
    private sealed class PingCountingCore(PublicKey remote) : IConnectionCore
    {
        private int _spoken;

        public List<int> SpokenAtEachPing { get; } = [];

        public Action? Pinged { get; set; }

        public string Protocol => "/fake/1.0.0";

        public bool IsClosed => false;

        public bool HasOutput => false;

        public bool InputPaused => false;

        public bool HasPendingInput => false;

        public ConnectionUpgrade? Upgrade { get; } = new(PeerId.FromPublicKey(remote), remote, "/fake-security", "/fake/1.0.0");

        public void SetWakeup(Action wake)
        {
        }

        public void Poll(ICollection<MuxerEvent> events)
        {
        }

        public void EndInput()
        {
        }

        public void Start()
        {
        }

        public void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
        {
            if (input.SequenceEqual(Pong.ToReadOnlySpan()))
                events.Add(new MuxerEvent.PingAnswered());
            else
                _spoken++;
        }

        public void DrainOutput(IBufferWriter<byte> output, int limit)
        {
        }

        public long OpenStream() => throw new MuxerException("no streams here");

        public int Send(long streamId, ReadOnlySpan<byte> data) => 0;

        public void Consumed(long streamId, int bytes)
        {
        }

        public void CloseWrite(long streamId)
        {
        }

        public void CloseRead(long streamId)
        {
        }

        public void Reset(long streamId)
        {
        }

        public void ShedLaggards(ICollection<MuxerEvent> events)
        {
        }

        public bool Ping()
        {
            SpokenAtEachPing.Add(_spoken);
            Pinged?.Invoke();
            return true;
        }

        public void Close()
        {
        }

        public void Dispose()
        {
        }
    }
}
