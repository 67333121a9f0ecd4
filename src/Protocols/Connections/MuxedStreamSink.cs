using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// A stream's outbound bytes. At most <see cref="WritesInFlight"/> writes are in flight: the next
/// element is pulled only when the connection stage reports the muxer took an earlier one, which it
/// does only within the remote's window, so a stalled remote reader holds this writer back. Two
/// keep the muxer fed while the acknowledgement of the first travels back.
/// </summary>
/// <param name="stream">The stream.</param>
/// <param name="handedOver">The Stream adapter wrote first and hands the outbound side on.</param>
internal sealed class MuxedStreamSink(MuxedStream stream, bool handedOver = false) : GraphStage<SinkShape<ByteString>>
{
    /// <summary>Writes posted to the connection stage and not yet taken by the muxer, at most.</summary>
    public const int WritesInFlight = 2;

    private readonly Inlet<ByteString> _in = new("muxed-stream.in");

    private MuxedStream Stream { get; } = stream;

    private bool HandedOver { get; } = handedOver;

    public override SinkShape<ByteString> Shape => new(_in);

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("muxed-stream-sink");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : InGraphStageLogic
    {
        private readonly MuxedStreamSink _stage;
        private readonly MuxedStream _stream;
        private bool _finished;
        private int _inFlight;

        public Logic(MuxedStreamSink stage) : base(stage.Shape)
        {
            _stage = stage;
            _stream = stage.Stream;
            SetHandler(stage._in, this);
        }

        public override void PreStart()
        {
            if (!_stage.HandedOver)
                _stream.TakeSink();
            var signal = GetAsyncCallback<StreamSignal>(OnSignal);
            // A connection already gone answers the attach with a failure (MuxedConnection.Post).
            _stream.Connection.Post(new ConnectionCommand.AttachSink(_stream.Id, signal));
            Pull(_stage._in);
        }

        public override void OnPush()
        {
            var bytes = Grab(_stage._in);
            if (bytes.IsEmpty)
            {
                Pull(_stage._in);
                return;
            }
            _stream.Connection.Post(new ConnectionCommand.Write(_stream.Id, ByteStringSegments.Memory(bytes)));
            if (++_inFlight < WritesInFlight)
                Pull(_stage._in);
        }

        public override void OnUpstreamFinish()
        {
            // The connection half-closes after the write in flight, if any.
            _finished = true;
            _stream.Connection.Post(new ConnectionCommand.CompleteSink(_stream.Id));
            CompleteStage();
        }

        public override void OnUpstreamFailure(Exception e)
        {
            _finished = true;
            _stream.Connection.Post(new ConnectionCommand.ResetStream(_stream.Id, $"the writer failed: {e.Message}"));
            FailStage(e);
        }

        private void OnSignal(StreamSignal signal)
        {
            if (_finished)
                return;
            switch (signal)
            {
                case StreamSignal.WriteAccepted accepted:
                    // After a hand-over, writes the adapter left in flight are acknowledged here
                    // too: counting from zero lets at most two more through, never fewer.
                    _inFlight = Math.Max(0, _inFlight - accepted.Writes);
                    if (!HasBeenPulled(_stage._in) && !IsClosed(_stage._in))
                        Pull(_stage._in);
                    break;
                case StreamSignal.Failed failed:
                    _finished = true;
                    FailStage(failed.Reason);
                    break;
            }
        }
    }
}
