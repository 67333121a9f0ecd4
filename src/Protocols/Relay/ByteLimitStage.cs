using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;

namespace Libp2p.Protocols.Relay;

/// <summary>
/// Passes at most <c>limit</c> bytes, then fails with <see cref="CircuitLimitExceededException"/>:
/// a relay's data limit for one direction of a circuit. The chunk that crosses the limit is cut at
/// it, so exactly the limit gets through.
/// </summary>
public sealed class ByteLimitStage : GraphStage<FlowShape<ByteString, ByteString>>
{
    private readonly long _limit;
    private readonly string _direction;

    /// <summary>A stage passing <paramref name="limit"/> bytes (0: no limit); <paramref name="direction"/> names the way they go in the error.</summary>
    public ByteLimitStage(long limit, string direction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        _limit = limit;
        _direction = direction;
        Shape = new FlowShape<ByteString, ByteString>(In, Out);
    }

    private Inlet<ByteString> In { get; } = new("ByteLimit.in");

    private Outlet<ByteString> Out { get; } = new("ByteLimit.out");

    /// <inheritdoc />
    public override FlowShape<ByteString, ByteString> Shape { get; }

    /// <inheritdoc />
    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : InAndOutGraphStageLogic
    {
        private readonly ByteLimitStage _stage;
        private long _passed;

        public Logic(ByteLimitStage stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage.In, this);
            SetHandler(stage.Out, this);
        }

        public override void OnPush()
        {
            var chunk = Grab(_stage.In);
            if (_stage._limit == 0 || _passed + chunk.Count <= _stage._limit)
            {
                _passed += chunk.Count;
                Push(_stage.Out, chunk);
                return;
            }
            var room = (int)(_stage._limit - _passed);
            _passed = _stage._limit;
            var error = new CircuitLimitExceededException($"circuit relay: {_stage._direction} reached the data limit of {_stage._limit} bytes");
            if (room > 0)
                Push(_stage.Out, chunk.Slice(0, room));
            FailStage(error);
        }

        public override void OnPull() => Pull(_stage.In);
    }
}

/// <summary>A relayed circuit reached its data or duration limit and was reset.</summary>
public sealed class CircuitLimitExceededException(string message) : Exception(message);
