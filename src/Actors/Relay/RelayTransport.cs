using System.Collections.Concurrent;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Google.Protobuf;
using ByteString = Akka.IO.ByteString;
using PbBytes = Google.Protobuf.ByteString;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Relay;
using Libp2p.Protocols.Relay.Pb;
using Status = Libp2p.Protocols.Relay.Pb.Status;
using Libp2p.Protocols.Transport;
using PbPeer = Libp2p.Protocols.Relay.Pb.Peer;

namespace Libp2p.Actors.Relay;

/// <summary>
/// The client side of circuit relay v2 as a transport: its bytes are a muxed stream on a
/// connection to a relay, and the Swarm secures and muxes them like any transport's. Dialing
/// <c>…/p2p/&lt;relay&gt;/p2p-circuit/p2p/&lt;peer&gt;</c> opens a hop stream to the relay and asks
/// for a circuit; listening on <c>/p2p-circuit</c> accepts the circuits relays open with the stop
/// protocol. Connections over it are relayed, so the Swarm marks them transient (limited): a new
/// stream on one needs <see cref="DialOptions.UseTransient"/>. It works through the Swarm that
/// owns it, so it must be attached to that Swarm (<see cref="AttachAsync"/>) before use.
/// </summary>
public sealed class RelayTransport : ITransport
{
    private readonly TaskCompletionSource<IActorRef> _swarm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<long, ISourceQueueWithComplete<InboundConnection>> _listeners = new();
    private readonly PeerId _local;
    private readonly TimeSpan _handshakeTimeout;
    private long _nextListener;

    /// <summary>The transport of the node <paramref name="localPeer"/>; each hop and stop exchange must finish within <paramref name="handshakeTimeout"/> (default 30 s).</summary>
    public RelayTransport(PeerId localPeer, TimeSpan? handshakeTimeout = null)
    {
        _local = localPeer ?? throw new ArgumentNullException(nameof(localPeer));
        _handshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(30);
    }

    /// <inheritdoc />
    public string Name => "p2p-circuit";

    /// <summary>Talks to the Swarm this transport belongs to, once attached.</summary>
    private NetworkClient Network => new(_swarm.Task, _local);

    /// <inheritdoc />
    public bool CanDial(Multiaddr address) => CircuitAddress.TryParse(address, out _);

    /// <inheritdoc />
    public bool CanListen(Multiaddr address) =>
        address is not null && address.Components.Count == 1 && address.Components[0].Protocol == MultiaddrProtocol.P2pCircuit;

    /// <summary>
    /// Binds the transport to the Swarm whose <see cref="SwarmSettings.Transports"/> hold it, and
    /// serves the stop protocol there, so relays can open circuits to this node.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already attached to another Swarm.</exception>
    public async Task AttachAsync(IActorRef swarm, CancellationToken cancellationToken = default)
    {
        Bind(swarm);
        await Network.SetStreamHandlerAsync(CircuitRelay.StopProtocolId, AcceptStopAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Binds the transport to its Swarm without serving the stop protocol: for an owner that
    /// registers <see cref="AcceptStopAsync"/> itself, in order with its other handlers.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already bound to another Swarm.</exception>
    public void Bind(IActorRef swarm)
    {
        ArgumentNullException.ThrowIfNull(swarm);
        if (!_swarm.TrySetResult(swarm) && !_swarm.Task.Result.Equals(swarm))
            throw new InvalidOperationException("this relay transport already belongs to another swarm");
    }

    /// <inheritdoc />
    public Flow<ByteString, ByteString, Task<TransportConnection>> Dial(ActorSystem system, Multiaddr address, TimeSpan connectTimeout)
    {
        if (!CircuitAddress.TryParse(address, out var circuit))
            throw new TransportException($"p2p-circuit: cannot dial {address}: not a relayed address (…/p2p/<relay>/p2p-circuit/p2p/<peer>)");
        if (circuit.Target is null)
            throw new TransportException($"p2p-circuit: cannot dial {address}: it names no peer after /p2p-circuit");
        return Flow.Setup<ByteString, ByteString, Task<TransportConnection>>((_, _) =>
        {
            var opening = OpenCircuitAsync(circuit, connectTimeout);
            var source = Source.FromTask(opening).ConcatMany(c => c.Stream.Source);
            // The hop stream's sink is attached when the first bytes come (the dialer's multistream
            // header, at once), and they wait there for the circuit.
            var sink = Sink.LazyInitAsync(async () => (await opening.ConfigureAwait(false)).Stream.Sink)
                .MapMaterializedValue(written =>
                {
                    // Upstream ended before writing a byte: the circuit, once there, must not stay open.
                    written.ContinueWith(t =>
                    {
                        if (t.IsCompletedSuccessfully && !t.Result.HasValue)
                            opening.ContinueWith(o => o.Result.Stream.Reset(), TaskContinuationOptions.OnlyOnRanToCompletion);
                    }, TaskScheduler.Default);
                    return NotUsed.Instance;
                });
            return Flow.FromSinkAndSource(sink, source).MapMaterializedValue(_ => opening.ContinueWith(t => t.Result.Addresses, TaskScheduler.Default));
        }).MapMaterializedValue(t => t.Unwrap());
    }

    /// <inheritdoc />
    public Source<InboundConnection, Task<TransportListener>> Listen(ActorSystem system, Multiaddr address)
    {
        if (!CanListen(address))
            throw new TransportException($"p2p-circuit: cannot listen on {address}: relayed connections are accepted on /p2p-circuit alone");
        return Source.Queue<InboundConnection>(16, OverflowStrategy.Backpressure)
            .MapMaterializedValue(queue =>
            {
                var id = Interlocked.Increment(ref _nextListener);
                _listeners[id] = queue;
                _ = queue.WatchCompletionAsync().ContinueWith(_ => _listeners.TryRemove(id, out var _), TaskScheduler.Default);
                return Task.FromResult(new TransportListener(address, () =>
                {
                    _listeners.TryRemove(id, out _);
                    queue.Complete();
                    return Task.CompletedTask;
                }));
            });
    }

    /// <summary>A circuit: the hop stream that carries it and its two ends' addresses.</summary>
    private sealed record Circuit(StreamHandle Stream, TransportConnection Addresses);

    private async Task<Circuit> OpenCircuitAsync(CircuitAddress circuit, TimeSpan timeout)
    {
        var target = circuit.Target!;
        using var deadline = new CancellationTokenSource(timeout);
        StreamHandle hop;
        try
        {
            var network = Network;
            var options = DialOptions.Default.WithTimeout(timeout);
            // A relay reached over a relay is no relay: the hop stream needs a direct connection.
            await network.DialPeerAsync(circuit.Relay, options, circuit.RelayAddress.IsEmpty ? null : [circuit.RelayAddress], deadline.Token).ConfigureAwait(false);
            hop = await network.NewStreamAsync(circuit.Relay, [CircuitRelay.HopProtocolId], options, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not TransportException)
        {
            throw new TransportException($"p2p-circuit: cannot reach relay {circuit.Relay}: {e.Message}", TransportFailure.Unreachable, e);
        }
        try
        {
            await RelayStreams.AttachAsync(hop).ConfigureAwait(false);
            var io = hop.Stream;
            io.ReadTimeout = io.WriteTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
            await DelimitedMessages.WriteAsync(io, new HopMessage { Type = HopMessage.Types.Type.Connect, Peer = new PbPeer { Id = PbBytes.CopyFrom(target.ToBytes()) } },
                deadline.Token).ConfigureAwait(false);
            var reply = await DelimitedMessages.ReadAsync(io, HopMessage.Parser, CircuitRelay.MaxMessageSize, "circuit relay hop", deadline.Token).ConfigureAwait(false)
                ?? throw new CircuitRelayException(Status.ConnectionFailed, $"relay {circuit.Relay} closed the hop stream without answering");
            if (reply.Type != HopMessage.Types.Type.Status)
                throw new CircuitRelayException(Status.UnexpectedMessage, $"relay {circuit.Relay} answered CONNECT with {reply.Type}, not STATUS");
            if (reply.Status != Status.Ok)
                throw new CircuitRelayException(reply.Status, $"relay {circuit.Relay} refused the circuit to {target}: {CircuitRelay.NameOf(reply.Status)}");
            io.ReadTimeout = io.WriteTimeout = Timeout.Infinite;
            var relayed = new CircuitAddress(hop.Connection.RemoteAddress.Decapsulate("p2p"), circuit.Relay, null).ToMultiaddr();
            return new Circuit(hop, new TransportConnection(hop.Connection.LocalAddress.Encapsulate("/p2p-circuit"), relayed));
        }
        catch (Exception e)
        {
            hop.Reset();
            if (e is CircuitRelayException refused)
                throw new TransportException($"p2p-circuit: {refused.Message}", TransportFailure.Refused, refused);
            if (e is ResourceLimitExceededException)
                throw new TransportException($"p2p-circuit: no circuit through {circuit.Relay} to {target}: this node's resource manager refused the hop stream: {e.Message}", TransportFailure.Other, e);
            throw new TransportException($"p2p-circuit: the circuit through {circuit.Relay} to {target} failed: {e.Message}", TransportFailure.Other, e);
        }
    }

    /// <summary>
    /// Serves the stop protocol: a relay opens a circuit from another peer to this node. Accepted
    /// only while this node listens on <c>/p2p-circuit</c>; the stream then is the connection's
    /// bytes, and this handler holds it until the connection ends. Registered by <see cref="AttachAsync"/>.
    /// </summary>
    public async Task AcceptStopAsync(StreamHandle stream)
    {
        var io = stream.Stream;
        var request = await RelayStreams.ReadRequestAsync(stream, StopMessage.Parser, "circuit relay stop", _handshakeTimeout, AnswerAsync).ConfigureAwait(false);
        if (request is null)
            return;
        if (!request.HasType || request.Type != StopMessage.Types.Type.Connect)
        {
            await AnswerAsync(io, Status.UnexpectedMessage).ConfigureAwait(false);
            return;
        }
        PeerId source;
        try
        {
            source = PeerId.FromBytes(request.Peer is { HasId: true } peer ? peer.Id.Span : default);
        }
        catch (FormatException)
        {
            await AnswerAsync(io, Status.MalformedMessage).ConfigureAwait(false);
            return;
        }
        var listener = _listeners.Values.FirstOrDefault();
        if (stream.Connection.Stat.Transient || listener is null)
        {
            // Not listening on /p2p-circuit (or asked over a circuit): nobody here takes the connection.
            await AnswerAsync(io, Status.ConnectionFailed).ConfigureAwait(false);
            return;
        }
        await AnswerAsync(io, Status.Ok).ConfigureAwait(false);
        io.ReadTimeout = io.WriteTimeout = Timeout.Infinite;
        var relay = stream.Connection.RemotePeer;
        var remote = new CircuitAddress(stream.Connection.RemoteAddress.Decapsulate("p2p"), relay, source).ToMultiaddr();
        var local = new CircuitAddress(stream.Connection.RemoteAddress.Decapsulate("p2p"), relay, _local).ToMultiaddr();
        var inbound = new InboundConnection(new TransportConnection(local, remote), Flow.FromSinkAndSource(stream.Sink, stream.Source));
        if (await listener.OfferAsync(inbound).ConfigureAwait(false) is not QueueOfferResult.Enqueued)
        {
            stream.Reset();
            return;
        }
        try
        {
            // The stream is the connection: the handler returning would close it.
            await stream.Completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Reset: the relayed connection ended, as connections do.
        }
    }

    private static async Task AnswerAsync(Stream io, Status status)
    {
        try
        {
            await DelimitedMessages.WriteAsync(io, new StopMessage { Type = StopMessage.Types.Type.Status, Status = status }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or TimeoutException or ObjectDisposedException)
        {
        }
    }
}
