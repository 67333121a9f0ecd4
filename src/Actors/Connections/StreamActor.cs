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
/// One muxed stream: it opens the stream's resource scope (and is that scope's owner), opens an
/// outbound stream on the wire only once the scope is approved, negotiates its protocol (as the
/// responder for an inbound stream, the initiator for an outbound one), moves the scope to the
/// protocol's, then hands the stream to its handler or to whoever asked for it, and stops when the
/// stream is gone. A handler that throws resets its own stream and nothing else.
/// </summary>
public sealed class StreamActor : ReceiveActor, IWithTimers
{
    private readonly StreamId _id;
    private readonly ConnectionInfo _connection;
    private readonly MuxedConnection? _opener;
    private readonly StreamHandlerTable? _handlers;
    private readonly IReadOnlyList<string>? _protocols;
    private readonly IActorRef? _requester;
    private readonly ResourceManager _resources;
    private readonly TimeSpan _negotiationTimeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private MuxedStream? _muxed;
    private MuxedStreamAdapter? _io;
    private StreamManagementScope? _scope;
    private StreamHandle? _handle;
    private CancellationTokenSource? _opening;
    private bool _ended;

    private sealed record ScopeOpened(StreamManagementScope Scope);
    private sealed record ScopeRefused(Exception Reason);
    private sealed record StreamOpenedOnWire(MuxedStream Stream);
    private sealed record Negotiated(string Protocol);
    private sealed record ProtocolSet(string Protocol);
    private sealed record ProtocolRefused(string Protocol, Exception Reason);
    private sealed record NegotiationFailed(Exception Reason);
    private sealed record HandlerCompleted(Exception? Error);
    private sealed record Ended(Exception? Error);
    private sealed record NegotiationTimedOut;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public StreamActor(MuxedStream? muxed, MuxedConnection? opener, StreamId id, ConnectionInfo connection, StreamHandlerTable? handlers, IReadOnlyList<string>? protocols, IActorRef? requester, ResourceManager resources, TimeSpan negotiationTimeout)
    {
        _resources = resources;
        _negotiationTimeout = negotiationTimeout;
        _muxed = muxed;
        _opener = opener;
        _id = id;
        _connection = connection;
        _handlers = handlers;
        _protocols = protocols;
        _requester = requester;
        Negotiating();
    }

    /// <summary>An inbound stream, served by the handler of the protocol it negotiates.</summary>
    public static Props Inbound(MuxedStream muxed, StreamId id, ConnectionInfo connection, StreamHandlerTable handlers, ResourceManager resources, TimeSpan negotiationTimeout) =>
        Props.Create(() => new StreamActor(muxed, null, id, connection, handlers, null, null, resources, negotiationTimeout));

    /// <summary>
    /// An outbound stream of <paramref name="connection"/>, opened on the wire once its scope is
    /// approved and handed to <paramref name="requester"/> once it negotiated one of <paramref name="protocols"/>.
    /// </summary>
    public static Props Outbound(MuxedConnection opener, StreamId id, ConnectionInfo connection, IReadOnlyList<string> protocols, IActorRef requester, ResourceManager resources, TimeSpan negotiationTimeout) =>
        Props.Create(() => new StreamActor(null, opener, id, connection, null, protocols, requester, resources, negotiationTimeout));

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
        if (_muxed is not null)
            WatchEnd(_muxed);
        var direction = _handlers is not null ? Direction.Inbound : Direction.Outbound;
        _resources.OpenStreamAsync(_connection.RemotePeer, direction, owner: Self)
            .PipeTo(Self, success: s => new ScopeOpened(s), failure: e => new ScopeRefused(e));
        // Until negotiated, the stream holds transient budget every peer shares: a peer gets so long.
        Timers.StartSingleTimer(nameof(NegotiationTimedOut), new NegotiationTimedOut(), _negotiationTimeout);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Whatever stopped us, the remote must not be left with a half-open stream.
        _opening?.Cancel();
        _opening?.Dispose();
        if (!_ended)
            _muxed?.Reset();
        // The scope watches this actor too; this only makes the release immediate.
        _scope?.Done();
    }

    private void WatchEnd(MuxedStream muxed)
    {
        var self = Self;
        muxed.Completion.ContinueWith(t => self.Tell(new Ended(t.Exception?.GetBaseException())), TaskScheduler.Default);
    }

    private void Negotiate(MuxedStream muxed)
    {
        _io = muxed.AsStream();
        var negotiation = _handlers is not null
            ? MultistreamSelect.HandleAsync(_io, _handlers.Handlers.Keys.ToArray())
            : MultistreamSelect.SelectOneOfAsync(_io, _protocols!);
        negotiation.PipeTo(Self, success: p => new Negotiated(p), failure: e => new NegotiationFailed(e));
    }

    private void Negotiating()
    {
        Receive<ScopeOpened>(o =>
        {
            _scope = o.Scope;
            if (_muxed is not null)
            {
                Negotiate(_muxed);
                return;
            }
            // Reserved, so now opened: a stream refused by a scope never sent its SYN. Given up when
            // this actor stops first: the stage then sends nothing, or resets what it had opened.
            _opening = new CancellationTokenSource();
            _opener!.OpenStreamAsync(_opening.Token).PipeTo(Self, success: s => new StreamOpenedOnWire(s), failure: e => new NegotiationFailed(e));
        });
        Receive<ScopeRefused>(r =>
        {
            if (_requester is null)
                _log.Info("refused an inbound stream of {0}: {1}", _connection, r.Reason.Message);
            _requester?.Tell(new SwarmProtocol.OpenStreamFailed(_connection.RemotePeer, r.Reason));
            Context.Stop(Self); // PostStop resets an inbound stream: the remote sees a reset, nothing stays reserved
        });
        Receive<StreamOpenedOnWire>(o =>
        {
            _muxed = o.Stream;
            WatchEnd(o.Stream);
            Negotiate(o.Stream);
        });
        // The stream leaves the transient scope for its protocol's, which may be full.
        Receive<Negotiated>(n => _scope!.SetProtocolAsync(n.Protocol).PipeTo(Self, success: () => new ProtocolSet(n.Protocol), failure: e => new ProtocolRefused(n.Protocol, e)));
        Receive<ProtocolRefused>(r =>
        {
            _log.Info("refused stream {0} of {1}: {2}", _id, r.Protocol, r.Reason.Message);
            _requester?.Tell(new SwarmProtocol.OpenStreamFailed(_connection.RemotePeer, r.Reason));
            Context.Stop(Self);
        });
        Receive<ProtocolSet>(n =>
        {
            Timers.Cancel(nameof(NegotiationTimedOut));
            var direction = _handlers is not null ? Direction.Inbound : Direction.Outbound;
            _handle = new StreamHandle(_id, n.Protocol, _connection,
                new Stats(direction, DateTimeOffset.UtcNow, _connection.Stat.Transient, new Dictionary<string, object>()), _muxed!, _io!, _scope!);
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
