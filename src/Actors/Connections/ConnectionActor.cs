using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Connections;

/// <summary>
/// One upgraded connection: it owns the connection's graph, spawns a <see cref="StreamActor"/>
/// per stream, and stops when the connection is gone, which the Swarm (watching it) turns into
/// the <see cref="SwarmProtocol.Disconnected"/> event. Bytes never pass through this actor.
/// </summary>
public sealed class ConnectionActor : ReceiveActor
{
    private readonly MuxedConnection _connection;
    private readonly IMaterializer _materializer;
    private readonly ResourceManager _resources;
    private readonly ConnectionManagementScope _scope;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly StreamLimits _limits;
    private readonly Dictionary<IActorRef, StreamHandle?> _streams = new();
    private readonly HashSet<IActorRef> _negotiatingInbound = new();
    private readonly HashSet<StreamManagementScope> _opening = new();
    private bool _taking;
    private ConnectionInfo _info;
    private StreamHandlerTable _handlers;
    private long _nextStream;

    private sealed record InboundStream(MuxedStream Stream);
    private sealed record InboundEnded;
    private sealed record OutboundStream(MuxedStream Stream, IReadOnlyList<string> Protocols, IActorRef Requester, StreamManagementScope Scope);
    private sealed record OutboundFailed(Exception Reason, IActorRef Requester, StreamManagementScope Scope);
    private sealed record ConnectionEnded(Exception? Error);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public ConnectionActor(MuxedConnection connection, ConnectionInfo info, StreamHandlerTable handlers, IMaterializer materializer, ResourceManager resources, ConnectionManagementScope scope, StreamLimits limits)
    {
        _limits = limits;
        _connection = connection;
        _info = info;
        _handlers = handlers;
        _materializer = materializer;
        _resources = resources;
        _scope = scope;

        Receive<InboundStream>(s =>
        {
            _taking = false;
            if (OpenScope(Direction.Inbound) is { } streamScope)
                _negotiatingInbound.Add(Spawn(StreamActor.Inbound(s.Stream, NextId(), _info, _handlers, _materializer, streamScope, _limits.NegotiationTimeout)));
            else
                s.Stream.Reset(); // refused cleanly: the remote sees a reset, nothing stays reserved
            TakeInbound();
        });
        Receive<InboundEnded>(_ => { });
        Receive<Conn.NewStream>(n =>
        {
            // Reserve, then open (go-libp2p's swarm_conn.go): a stream refused here never reaches the wire.
            StreamManagementScope streamScope;
            try
            {
                streamScope = _resources.OpenStream(_info.RemotePeer, Direction.Outbound);
            }
            catch (ResourceLimitExceededException e)
            {
                Sender.Tell(new SwarmProtocol.OpenStreamFailed(_info.RemotePeer, e));
                return;
            }
            _opening.Add(streamScope);
            var requester = Sender;
            var self = Self;
            _connection.OpenStreamAsync().PipeTo(self,
                success: s => new OutboundStream(s, n.Protocols, requester, streamScope),
                failure: e => new OutboundFailed(e, requester, streamScope));
        });
        Receive<OutboundStream>(o =>
        {
            _opening.Remove(o.Scope);
            Spawn(StreamActor.Outbound(o.Stream, NextId(), _info, o.Protocols, o.Requester, _materializer, o.Scope, _limits.NegotiationTimeout));
        });
        Receive<OutboundFailed>(f =>
        {
            _opening.Remove(f.Scope);
            f.Scope.Done();
            f.Requester.Tell(new SwarmProtocol.OpenStreamFailed(_info.RemotePeer, f.Reason));
        });
        Receive<Conn.HandlersChanged>(h => _handlers = h.Handlers);
        Receive<Conn.GetStats>(_ => Sender.Tell(new Conn.StatsAre(_info.Stat, _streams.Count)));
        Receive<StreamNegotiated>(n =>
        {
            _streams[Sender] = n.Stream;
            _negotiatingInbound.Remove(Sender);
            TakeInbound();
        });
        Receive<Conn.GetStreams>(_ => Sender.Tell(new Conn.StreamsAre(_streams.Values.Where(h => h is not null).Select(h => h!).ToArray())));
        Receive<Conn.Close>(_ => _connection.Close());
        Receive<ConnectionEnded>(e =>
        {
            if (e.Error is not null)
                _log.Info("{0} ended: {1}", _info, e.Error.Message);
            Context.Stop(Self);
        });
        Receive<Terminated>(t =>
        {
            _streams.Remove(t.ActorRef);
            _negotiatingInbound.Remove(t.ActorRef);
            TakeInbound();
        });
    }

    /// <summary>The actor of an upgraded connection.</summary>
    public static Props Props(MuxedConnection connection, ConnectionInfo info, StreamHandlerTable handlers, IMaterializer materializer,
        ResourceManager resources, ConnectionManagementScope scope, StreamLimits limits) =>
        Akka.Actor.Props.Create(() => new ConnectionActor(connection, info, handlers, materializer, resources, scope, limits));

    /// <summary>A <see cref="StreamActor"/> tells its parent the stream it negotiated.</summary>
    internal sealed record StreamNegotiated(StreamHandle Stream);

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Warning("a stream of {0} failed: {1}", _info, e.Message);
        return Directive.Stop;
    });

    /// <inheritdoc />
    protected override void PreStart()
    {
        _info = _info with { Actor = Self };
        var self = Self;
        _connection.Completion.ContinueWith(t => self.Tell(new ConnectionEnded(t.Exception?.GetBaseException())), TaskScheduler.Default);
        TakeInbound();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // The actor owns the socket: when it stops for any reason, so does the connection.
        if (!_connection.Completion.IsCompleted)
            _connection.Abort(new ConnectionClosedException($"{_info} was closed by its actor stopping"));
        // Whatever the reason it ends, the connection's resources go back, with streams still opening.
        foreach (var opening in _opening)
            opening.Done();
        _scope.Done();
    }

    private StreamManagementScope? OpenScope(Direction direction)
    {
        try
        {
            return _resources.OpenStream(_info.RemotePeer, direction);
        }
        catch (ResourceLimitExceededException e)
        {
            _log.Info("refused an inbound stream of {0}: {1}", _info, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Takes the next stream the remote opened once fewer than the cap of this connection's inbound
    /// streams are negotiating. The rest wait in the connection's backlog, not in the transient
    /// scope every peer shares; past the backlog the connection stage resets them.
    /// </summary>
    private void TakeInbound()
    {
        if (_taking || _negotiatingInbound.Count >= _limits.MaxNegotiatingInbound)
            return;
        _taking = true;
        _connection.InboundStreams.ReadAsync().AsTask().PipeTo(Self,
            success: s => new InboundStream(s),
            failure: _ => new InboundEnded()); // the connection is ending; ConnectionEnded follows
    }

    private StreamId NextId() => new(_info.Id, ++_nextStream);

    private IActorRef Spawn(Props props)
    {
        var child = Context.ActorOf(props, $"stream-{_info.Id}-{_nextStream}");
        Context.Watch(child);
        _streams[child] = null;
        return child;
    }
}
