using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multistream;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Connections;

/// <summary>
/// One muxed stream: negotiates its protocol (as the responder for an inbound stream, the
/// initiator for an outbound one), then hands it to its handler or to whoever asked for it, and
/// stops when the stream is gone. A handler that throws resets its own stream and nothing else.
/// </summary>
public sealed class StreamActor : ReceiveActor, IWithTimers
{
    private readonly MuxedStream _muxed;
    private readonly StreamId _id;
    private readonly ConnectionInfo _connection;
    private readonly StreamHandlerTable? _handlers;
    private readonly IReadOnlyList<string>? _protocols;
    private readonly IActorRef? _requester;
    private readonly MuxedStreamAdapter _io;
    private readonly StreamManagementScope _scope;
    private readonly TimeSpan _negotiationTimeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private StreamHandle? _handle;
    private bool _ended;

    private sealed record Negotiated(string Protocol);
    private sealed record NegotiationFailed(Exception Reason);
    private sealed record HandlerCompleted(Exception? Error);
    private sealed record Ended(Exception? Error);
    private sealed record NegotiationTimedOut;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public StreamActor(MuxedStream muxed, StreamId id, ConnectionInfo connection, StreamHandlerTable? handlers, IReadOnlyList<string>? protocols, IActorRef? requester, IMaterializer materializer, StreamManagementScope scope, TimeSpan negotiationTimeout)
    {
        _scope = scope;
        _negotiationTimeout = negotiationTimeout;
        _muxed = muxed;
        _id = id;
        _connection = connection;
        _handlers = handlers;
        _protocols = protocols;
        _requester = requester;
        _io = muxed.AsStream();
        Negotiating();
    }

    /// <summary>An inbound stream, served by the handler of the protocol it negotiates.</summary>
    public static Props Inbound(MuxedStream muxed, StreamId id, ConnectionInfo connection, StreamHandlerTable handlers, IMaterializer materializer, StreamManagementScope scope, TimeSpan negotiationTimeout) =>
        Props.Create(() => new StreamActor(muxed, id, connection, handlers, null, null, materializer, scope, negotiationTimeout));

    /// <summary>An outbound stream, handed to <paramref name="requester"/> once it negotiated one of <paramref name="protocols"/>.</summary>
    public static Props Outbound(MuxedStream muxed, StreamId id, ConnectionInfo connection, IReadOnlyList<string> protocols, IActorRef requester, IMaterializer materializer, StreamManagementScope scope, TimeSpan negotiationTimeout) =>
        Props.Create(() => new StreamActor(muxed, id, connection, null, protocols, requester, materializer, scope, negotiationTimeout));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        // Stop, don't restart, a handler actor: its stream is reset and nothing else is touched.
        _log.Warning("handler of {0} failed: {1}", _handle, e.Message);
        _handle?.Reset();
        return Directive.Stop;
    });

    /// <inheritdoc />
    protected override void PreStart()
    {
        var self = Self;
        _muxed.Completion.ContinueWith(t => self.Tell(new Ended(t.Exception?.GetBaseException())), TaskScheduler.Default);
        var negotiation = _handlers is not null
            ? MultistreamSelect.HandleAsync(_io, _handlers.Handlers.Keys.ToArray())
            : MultistreamSelect.SelectOneOfAsync(_io, _protocols!);
        negotiation.PipeTo(self, success: p => new Negotiated(p), failure: e => new NegotiationFailed(e));
        // Until negotiated, the stream holds transient budget every peer shares: a peer gets so long.
        Timers.StartSingleTimer(nameof(NegotiationTimedOut), new NegotiationTimedOut(), _negotiationTimeout);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Whatever stopped us, the remote must not be left with a half-open stream.
        if (!_ended)
            _muxed.Reset();
        _scope.Done();
    }

    private void Negotiating()
    {
        Receive<Negotiated>(n =>
        {
            Timers.Cancel(nameof(NegotiationTimedOut));
            try
            {
                // The stream leaves the transient scope for its protocol's, which may be full.
                _scope.SetProtocol(n.Protocol);
            }
            catch (ResourceLimitExceededException e)
            {
                _log.Info("refused stream {0} of {1}: {2}", _id, n.Protocol, e.Message);
                _requester?.Tell(new SwarmProtocol.OpenStreamFailed(_connection.RemotePeer, e));
                Context.Stop(Self);
                return;
            }
            var direction = _handlers is not null ? Direction.Inbound : Direction.Outbound;
            _handle = new StreamHandle(_id, n.Protocol, _connection,
                new Stats(direction, DateTimeOffset.UtcNow, _connection.Stat.Transient, new Dictionary<string, object>()), _muxed, _io);
            Context.Parent.Tell(new ConnectionActor.StreamNegotiated(_handle));
            if (_requester is not null)
                _requester.Tell(new SwarmProtocol.StreamOpened(_handle));
            else
                StartHandler(_handlers!.Handlers[n.Protocol]);
            Become(Open);
        });
        Receive<NegotiationTimedOut>(_ =>
        {
            var error = new TimeoutException($"stream {_id} did not negotiate a protocol within {_negotiationTimeout.TotalSeconds:0.###} s");
            _log.Info("reset {0} with {1}: {2}", _id, _connection.RemotePeer, error.Message);
            _requester?.Tell(new SwarmProtocol.OpenStreamFailed(_connection.RemotePeer, error));
            Context.Stop(Self); // PostStop resets the stream and releases its scope
        });
        Receive<NegotiationFailed>(f =>
        {
            _requester?.Tell(new SwarmProtocol.OpenStreamFailed(_connection.RemotePeer, f.Reason));
            Context.Stop(Self);
        });
        Receive<Ended>(e =>
        {
            // The stream can die (a reset, the connection) before the negotiation notices: answer anyway.
            _requester?.Tell(new SwarmProtocol.OpenStreamFailed(_connection.RemotePeer,
                e.Error ?? new StreamResetException($"stream {_id} closed during protocol negotiation")));
            End(e.Error);
        });
    }

    private void Open()
    {
        Receive<HandlerCompleted>(c =>
        {
            if (c.Error is null)
                _handle!.Close();
            else
            {
                _log.Warning("handler of {0} threw: {1}", _handle, c.Error.Message);
                _handle!.Reset();
            }
        });
        Receive<Terminated>(_ => _handle!.Close());
        Receive<Ended>(e => End(e.Error));
    }

    private void StartHandler(StreamHandler handler)
    {
        switch (handler)
        {
            case StreamHandler.Delegate d:
                var handle = _handle!;
                Task.Run(() => d.Handle(handle)).PipeTo(Self, success: () => new HandlerCompleted(null), failure: e => new HandlerCompleted(e));
                break;
            case StreamHandler.Actor a:
                var child = Context.ActorOf(a.Props, "handler");
                Context.Watch(child);
                child.Tell(new StreamAccepted(_handle!));
                break;
        }
    }

    private void End(Exception? error)
    {
        _ended = true;
        if (error is not null)
            _log.Debug("stream {0} ended: {1}", _id, error.Message);
        Context.Stop(Self);
    }
}
