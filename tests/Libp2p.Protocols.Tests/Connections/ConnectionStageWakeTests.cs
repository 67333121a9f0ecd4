using System.Buffers;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>
/// The stage's side of a core that works off its thread (TLS): woken through <see cref="IConnectionCore.SetWakeup"/>,
/// and not finished by the transport's end while the core is still decrypting what came before it.
/// </summary>
public sealed class ConnectionStageWakeTests : ConnectionTestKit
{
    [Fact]
    public async Task A_transport_that_ends_must_not_finish_the_connection_before_the_core_handled_its_last_bytes()
    {
        var core = new OffThreadCore(ListenerKey.PublicKey);
        var handle = Source.Single(ByteString.FromBytes([1, 2, 3]))
            .ViaMaterialized(Flow.FromGraph(new ConnectionStage(() => core)), Keep.Right)
            .To(Sink.Ignore<ByteString>())
            .Run(Materializer);

        await core.InputEnded.Task.WaitAsync(Patience);
        Assert.False(handle.Completion.IsCompleted, "the connection finished while its last bytes were still being decrypted");

        core.Finish();
        await handle.Completion.WaitAsync(Patience);
        Assert.Equal(1, core.Polls);
    }

    [Fact]
    public async Task A_transport_that_stops_taking_bytes_must_not_finish_the_connection_before_the_core_handled_what_came()
    {
        var core = new OffThreadCore(ListenerKey.PublicKey);
        var handle = Source.Single(ByteString.FromBytes([1, 2, 3])).Concat(Source.Never<ByteString>())
            .ViaMaterialized(Flow.FromGraph(new ConnectionStage(() => core)), Keep.Right)
            .To(Sink.Cancelled<ByteString>())
            .Run(Materializer);

        await core.InputEnded.Task.WaitAsync(Patience);
        Assert.False(handle.Completion.IsCompleted, "the connection finished while what it had read was still being decrypted");

        core.Finish();
        await handle.Completion.WaitAsync(Patience);
    }

    /// <summary>A core that is upgraded from the start and decrypts "elsewhere" until told it is done.</summary>
    private sealed class OffThreadCore(PublicKey remote) : IConnectionCore
    {
        private Action _wake = () => { };
        private volatile bool _pending = true;

        public TaskCompletionSource InputEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Polls { get; private set; }

        public void Finish()
        {
            _pending = false;
            _wake();
        }

        public string Protocol => "/fake/1.0.0";

        public bool IsClosed => false;

        public bool HasOutput => false;

        public bool InputPaused => false;

        public bool HasPendingInput => _pending;

        public ConnectionUpgrade? Upgrade { get; } = new(PeerId.FromPublicKey(remote), remote, "/fake-security", "/fake/1.0.0");

        public void SetWakeup(Action wake) => _wake = wake;

        public void Poll(ICollection<MuxerEvent> events) => Polls++;

        public void EndInput() => InputEnded.TrySetResult();

        public void Start()
        {
        }

        public void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events)
        {
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

        public bool Ping() => false;

        public void Close()
        {
        }

        public void Dispose()
        {
        }
    }
}
