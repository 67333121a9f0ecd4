using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Muxing;

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
    private sealed class OffThreadCore(PublicKey remote) : UpgradedCoreStub(remote)
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

        public override bool HasPendingInput => _pending;

        public override void SetWakeup(Action wake) => _wake = wake;

        public override void Poll(ICollection<MuxerEvent> events) => Polls++;

        public override void EndInput() => InputEnded.TrySetResult();
    }
}
