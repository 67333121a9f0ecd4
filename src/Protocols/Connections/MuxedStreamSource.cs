using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using Libp2p.Protocols.Muxing;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// A stream's inbound bytes. Each pull asks the connection stage for one chunk; the connection
/// grants muxer window back only for chunks handed over here, so an idle reader stops the remote.
/// </summary>
/// <param name="stream">The stream.</param>
/// <param name="handedOver">The Stream adapter read the stream first and hands its inbound side on.</param>
internal sealed class MuxedStreamSource(MuxedStream stream, bool handedOver = false) : GraphStage<SourceShape<ByteString>>
{
    private readonly Outlet<ByteString> _out = new("muxed-stream.out");

    private MuxedStream Stream { get; } = stream;

    private bool HandedOver { get; } = handedOver;

    public override SourceShape<ByteString> Shape => new(_out);

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("muxed-stream-source");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : OutGraphStageLogic
    {
        private readonly MuxedStreamSource _stage;
        private readonly MuxedStream _stream;
        // One request, posted at every pull: no record per chunk.
        private readonly ConnectionCommand _pullCommand;
        private bool _finished;
        // A chunk answering a pull the Stream adapter left outstanding when it handed over.
        private ByteString? _held;

        public Logic(MuxedStreamSource stage) : base(stage.Shape)
        {
            _stage = stage;
            _stream = stage.Stream;
            _pullCommand = new ConnectionCommand.PullSource(_stream.Id);
            SetHandler(stage._out, this);
        }

        public override void PreStart()
        {
            if (!_stage.HandedOver)
                _stream.TakeSource();
            var signal = GetAsyncCallback<StreamSignal>(OnSignal);
            // A connection already gone answers the attach with a failure (MuxedConnection.Post).
            _stream.Connection.Post(new ConnectionCommand.AttachSource(_stream.Id, signal));
        }

        public override void OnPull()
        {
            if (_held is { } held)
            {
                _held = null;
                Push(_stage._out, held);
                return;
            }
            _stream.Connection.Post(_pullCommand);
        }

        public override void OnDownstreamFinish(Exception cause)
        {
            _finished = true;
            _stream.Connection.Post(new ConnectionCommand.CancelSource(_stream.Id));
            base.OnDownstreamFinish(cause);
        }

        private void OnSignal(StreamSignal signal)
        {
            if (_finished)
            {
                if (signal is StreamSignal.Chunks late)
                    Release(late.Arrived);
                return;
            }
            switch (signal)
            {
                case StreamSignal.Chunks chunks when IsAvailable(_stage._out):
                    Push(_stage._out, Owned(chunks.Arrived));
                    break;
                case StreamSignal.Chunks chunks:
                    _held = Owned(chunks.Arrived);
                    break;
                case StreamSignal.End:
                    _finished = true;
                    CompleteStage();
                    break;
                case StreamSignal.Failed failed:
                    _finished = true;
                    FailStage(failed.Reason);
                    break;
            }
        }

        /// <summary>
        /// The chunks as bytes the reader keeps: each copied into an array of its own size (not
        /// zeroed first), and the pooled ones go back. The copy is made here, on the reader's
        /// thread, just before the push, not when the connection stage hands the chunks over: a
        /// copy made there waits in this stage's mailbox, and with 100 busy streams the young
        /// copies waiting at once were enough that each collection of the youngest generation
        /// copied them on to the next. Handing the pooled arrays themselves on saves the copy but
        /// costs more: the pool then makes a new array per chunk.
        /// </summary>
        private static ByteString Owned(MuxerEvent.Data[] arrived)
        {
            ByteString? bytes = null;
            foreach (var data in arrived)
            {
                var copy = GC.AllocateUninitializedArray<byte>(data.Length);
                data.Payload.Span.CopyTo(copy);
                data.Release();
                var owned = ByteString.FromBytes(copy);
                bytes = bytes is null ? owned : bytes.Concat(owned);
            }
            return bytes!;
        }

        private static void Release(MuxerEvent.Data[] arrived)
        {
            foreach (var data in arrived)
                data.Release();
        }
    }
}
