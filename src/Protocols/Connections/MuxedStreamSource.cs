using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;

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
        private bool _finished;
        // A chunk answering a pull the Stream adapter left outstanding when it handed over.
        private ByteString? _held;

        public Logic(MuxedStreamSource stage) : base(stage.Shape)
        {
            _stage = stage;
            _stream = stage.Stream;
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
            _stream.Connection.Post(new ConnectionCommand.PullSource(_stream.Id));
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
                return;
            switch (signal)
            {
                case StreamSignal.Data data when IsAvailable(_stage._out):
                    Push(_stage._out, data.Bytes);
                    break;
                case StreamSignal.Data data:
                    _held = data.Bytes;
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
    }
}
