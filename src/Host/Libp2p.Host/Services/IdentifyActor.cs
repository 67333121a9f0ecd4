using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Identify;
using Libp2p.Protocols.Peer;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Swarm;

namespace Libp2p.Host.Services;

/// <summary>
/// The identify service of one node: identifies every peer as soon as a connection to it opens,
/// records what it said in the peerstore, publishes <see cref="IdentifyService.PeerIdentified"/>, answers
/// <see cref="IdentifyService.IdentifyPeer"/>, applies pushes from peers, and pushes our own changes
/// (addresses, protocols) to every connected peer.
/// </summary>
public sealed class IdentifyActor : ReceiveActor, IWithTimers
{
    /// <summary>Changes within this long go out as one push (js-libp2p debounces by 1 s).</summary>
    private static readonly TimeSpan PushDebounce = TimeSpan.FromMilliseconds(100);

    private readonly HostSettings _settings;
    private readonly NetworkClient _network;
    private readonly IActorRef _peerstore;
    private readonly IActorRef? _addresses;
    private readonly IActorRef? _prober;
    private readonly PeerId _local;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<PeerId, int> _connections = new();
    private readonly Dictionary<PeerId, IdentifyResult> _results = new();
    private readonly Dictionary<PeerId, List<IActorRef>> _waiters = new();
    private readonly HashSet<PeerId> _running = new();
    private readonly HashSet<PeerId> _retried = new();

    /// <summary>An identify push arrived on a connection.</summary>
    internal sealed record PushReceived(ConnectionInfo Connection, IdentifyMessage Message);

    /// <summary>Asks how many peers' identify results are kept; answered with <see cref="ResultsKept"/>.</summary>
    internal sealed record CountResults
    {
        public static CountResults Instance { get; } = new();
    }

    /// <summary>How many peers' identify results are kept: at most one per connected peer.</summary>
    internal sealed record ResultsKept(int Count);

    private sealed record Answered(PeerId Peer, IdentifyMessage Message, ConnectionInfo Connection);
    private sealed record PushNow;
    private sealed record Unanswered(PeerId Peer, Exception Reason);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public IdentifyActor(HostSettings settings, IActorRef swarm, IActorRef peerstore, IActorRef? addresses, IActorRef? prober)
    {
        _settings = settings;
        _peerstore = peerstore;
        _addresses = addresses;
        _prober = prober;
        _local = PeerId.FromPublicKey(settings.Identity.PublicKey);
        _network = new NetworkClient(swarm, _local);

        Receive<SwarmProtocol.Connected>(c => c.Connection.LocalPeer == _local, c =>
        {
            var peer = c.Connection.RemotePeer;
            var count = _connections.GetValueOrDefault(peer) + 1;
            _connections[peer] = count;
            if (count == 1)
                Start(peer);
        });
        Receive<SwarmProtocol.Disconnected>(d => d.Connection.LocalPeer == _local, d =>
        {
            var peer = d.Connection.RemotePeer;
            if (!_connections.TryGetValue(peer, out var count))
                return;
            if (count > 1)
            {
                _connections[peer] = count - 1;
                return;
            }
            _connections.Remove(peer);
            _results.Remove(peer);
            // The Swarm does this too, but an answer applied after its update and before this event
            // would have pinned the addresses with the connected TTL: redone here, after any answer.
            _peerstore.Tell(new PeerstoreProtocol.UpdateTtl(peer, PeerstoreProtocol.Ttl.Connected, PeerstoreProtocol.Ttl.RecentlyConnected));
            Fail(peer, new NoConnectionException(peer, "it disconnected before it was identified"));
        });
        Receive<IdentifyService.IdentifyPeer>(i =>
        {
            if (_results.TryGetValue(i.Peer, out var known))
            {
                Sender.Tell(new IdentifyService.PeerIdentified(_local, known));
                return;
            }
            if (!_waiters.TryGetValue(i.Peer, out var waiters))
                _waiters[i.Peer] = waiters = [];
            waiters.Add(Sender);
            Start(i.Peer);
        });
        Receive<Answered>(a =>
        {
            _running.Remove(a.Peer);
            _retried.Remove(a.Peer);
            Apply(a.Peer, a.Message, push: false, a.Connection);
        });
        Receive<Unanswered>(u =>
        {
            _running.Remove(u.Peer);
            // The connection asked on may have died while another one to the peer opened: ask again, once.
            // Not after a timeout: the peer had its whole deadline, and a second one would double it.
            if (u.Reason is not TimeoutException && _connections.ContainsKey(u.Peer) && !_results.ContainsKey(u.Peer) && _retried.Add(u.Peer))
            {
                Start(u.Peer);
                return;
            }
            _retried.Remove(u.Peer);
            if (u.Reason is TimeoutException)
                _log.Info(u.Reason.Message);
            else
                _log.Info("identify of {0} failed: {1}", u.Peer, u.Reason.Message);
            Fail(u.Peer, u.Reason);
        });
        Receive<PushReceived>(p =>
        {
            var peer = p.Connection.RemotePeer;
            // A push may carry only what changed: what it leaves out keeps its last value.
            var message = _results.TryGetValue(peer, out var known) ? Merge(known, p.Message) : p.Message;
            Apply(peer, message, push: true, p.Connection);
        });
        // Several changes in a row (handlers set one by one, listeners bound) go out as one push.
        Receive<SwarmProtocol.ListenStarted>(l => l.LocalPeer == _local, _ => SchedulePush());
        Receive<SwarmProtocol.ListenClosed>(l => l.LocalPeer == _local, _ => SchedulePush());
        Receive<SwarmProtocol.ProtocolsChanged>(p => p.LocalPeer == _local, _ => SchedulePush());
        Receive<Libp2p.Actors.AutoNat.AdvertisedAddressesChanged>(a => a.LocalPeer == _local, _ => SchedulePush());
        Receive<PushNow>(_ => Push());
        Receive<CountResults>(_ => Sender.Tell(new ResultsKept(_results.Count)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// The identify service of a node with <paramref name="settings"/>. With <paramref name="addresses"/>
    /// (an <see cref="Libp2p.Actors.AutoNat.AddressManagerActor"/>) it advertises what that says and
    /// reports each peer's observation of us to it; with <paramref name="prober"/> (an
    /// <see cref="Libp2p.Actors.AutoNat.AutoNatProbeActor"/>) it tells it each peer's protocols.
    /// </summary>
    public static Props Props(HostSettings settings, IActorRef swarm, IActorRef peerstore, IActorRef? addresses = null, IActorRef? prober = null) =>
        Akka.Actor.Props.Create(() => new IdentifyActor(settings, swarm, peerstore, addresses, prober));

    /// <inheritdoc />
    protected override void PreStart()
    {
        var events = Context.System.EventStream;
        events.Subscribe(Self, typeof(SwarmProtocol.Connected));
        events.Subscribe(Self, typeof(SwarmProtocol.Disconnected));
        events.Subscribe(Self, typeof(SwarmProtocol.ListenStarted));
        events.Subscribe(Self, typeof(SwarmProtocol.ListenClosed));
        events.Subscribe(Self, typeof(SwarmProtocol.ProtocolsChanged));
        events.Subscribe(Self, typeof(Libp2p.Actors.AutoNat.AdvertisedAddressesChanged));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        foreach (var peer in _waiters.Keys.ToArray())
            Fail(peer, new InvalidOperationException("the identify service stopped"));
    }

    private void Start(PeerId peer)
    {
        if (!_running.Add(peer))
            return;
        RequestAsync(_network, peer, _settings.IdentifyTimeout).PipeTo(Self, success: m => new Answered(peer, m.Message, m.Connection), failure: e => new Unanswered(peer, e));
    }

    /// <summary>One exchange under one deadline, from opening the stream to the last byte of the answer.</summary>
    /// <exception cref="TimeoutException">The deadline passed; the message names the peer and the deadline.</exception>
    private static async Task<(IdentifyMessage Message, ConnectionInfo Connection)> RequestAsync(NetworkClient network, PeerId peer, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var stream = await OpenAsync(network, peer, IdentifyService.ProtocolId, "identify", deadline.Token).ConfigureAwait(false);
            return await ServiceStreams.ClientAsync(stream, async _ =>
            {
                stream.CloseWrite();
                var message = await IdentifyService.ReadAsync(stream, deadline.Token).ConfigureAwait(false);
                stream.Close();
                return (message, stream.Connection);
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"identify of {peer} timed out after {timeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>
    /// A stream on a connection that exists already, relayed ones included: identify never dials.
    /// It is charged to the identify service's scope, as the streams identify serves are.
    /// </summary>
    private static async Task<StreamHandle> OpenAsync(NetworkClient network, PeerId peer, string protocol, string reason, CancellationToken cancellationToken)
    {
        var stream = await network.NewStreamAsync(peer, [protocol],
            DialOptions.Default.WithNoDial(reason).WithUseTransient("identify runs on relayed connections too, as go's and js's do"), cancellationToken).ConfigureAwait(false);
        await stream.SetServiceAsync(ServiceNames.Identify).ConfigureAwait(false);
        return stream;
    }

    private void Apply(PeerId peer, IdentifyMessage message, bool push, ConnectionInfo connection)
    {
        IdentifyResult result;
        try
        {
            result = IdentifyService.Verify(peer, message);
        }
        catch (FormatException e)
        {
            _log.Warning("identify of {0} is invalid: {1}", peer, e.Message);
            Fail(peer, e);
            return;
        }
        if (_results.TryGetValue(peer, out var known) && IdentifyService.IsNewer(known, result))
        {
            // RFC 0003: a record with a lower sequence number than one already held is stale;
            // the addresses it signs are too (messages can cross: an answer overtaken by a push).
            result = result with { ListenAddresses = known.ListenAddresses, SignedPeerRecord = known.SignedPeerRecord, RecordSequence = known.RecordSequence };
        }
        // Kept only while connected: an answer or a push read just before the last connection
        // closed reaches here after its Disconnected, and would stay for good (a peer that brings
        // a fresh identity to each connection would grow the table without end). The peerstore
        // keeps what it needs, and forgets it on its own.
        var connected = _connections.ContainsKey(peer);
        if (connected)
            _results[peer] = result;
        else
            _results.Remove(peer);
        var ttl = connected ? PeerstoreProtocol.Ttl.Connected : PeerstoreProtocol.Ttl.RecentlyConnected;
        if (result.ListenAddresses.Count > 0)
            _peerstore.Tell(new PeerstoreProtocol.AddAddresses(peer, result.ListenAddresses, ttl));
        if (result.PublicKey is { } key)
            _peerstore.Tell(new PeerstoreProtocol.AddPublicKey(peer, key));
        _peerstore.Tell(new PeerstoreProtocol.SetProtocols(peer, result.Protocols));
        if (result.AgentVersion is { } agent)
            _peerstore.Tell(new PeerstoreProtocol.PutMetadata(peer, IdentifyService.AgentVersionKey, agent));
        if (result.ProtocolVersion is { } version)
            _peerstore.Tell(new PeerstoreProtocol.PutMetadata(peer, IdentifyService.ProtocolVersionKey, version));
        if (result.ObservedAddress is { } observed)
        {
            _peerstore.Tell(new PeerstoreProtocol.PutMetadata(peer, IdentifyService.ObservedAddressKey, observed));
            // A relayed connection's peer sees the relay, not us.
            if (!connection.Stat.Transient)
                _addresses?.Tell(new Libp2p.Actors.AutoNat.AddressManagerProtocol.Observed(peer, connection.LocalAddress, connection.RemoteAddress, observed));
        }
        _prober?.Tell(new Libp2p.Actors.AutoNat.AutoNatProbeProtocol.PeerProtocols(peer, result.Protocols));
        if (result.SignedPeerRecord is { } record)
            _peerstore.Tell(new PeerstoreProtocol.PutMetadata(peer, IdentifyService.SignedPeerRecordKey, record.ToArray()));
        var identified = new IdentifyService.PeerIdentified(_local, result, push);
        if (_waiters.Remove(peer, out var waiters))
            foreach (var waiter in waiters)
                waiter.Tell(identified);
        Context.System.EventStream.Publish(identified);
    }

    private static IdentifyMessage Merge(IdentifyResult known, IdentifyMessage update) =>
        new IdentifyMessage
        {
            ProtocolVersion = known.ProtocolVersion,
            AgentVersion = known.AgentVersion,
            PublicKey = known.PublicKey,
            ListenAddrs = known.ListenAddresses,
            ObservedAddr = known.ObservedAddress,
            Protocols = known.Protocols,
            SignedPeerRecord = known.SignedPeerRecord,
        }.Merge(update);

    private void Fail(PeerId peer, Exception reason)
    {
        if (_waiters.Remove(peer, out var waiters))
            foreach (var waiter in waiters)
                waiter.Tell(new IdentifyService.IdentifyFailed(peer, reason));
    }

    private void SchedulePush()
    {
        if (_settings.IdentifyPush && _connections.Count > 0)
            Timers.StartSingleTimer(nameof(PushNow), new PushNow(), PushDebounce);
    }

    private void Push()
    {
        if (!_settings.IdentifyPush || _connections.Count == 0)
            return;
        var (settings, network, log, addresses) = (_settings, _network, _log, _addresses);
        foreach (var peer in _connections.Keys)
            PushAsync(settings, network, peer, addresses).ContinueWith(
                t => log.Debug("identify push to {0} failed: {1}", peer, t.Exception?.GetBaseException().Message),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private static async Task PushAsync(HostSettings settings, NetworkClient network, PeerId peer, IActorRef? addresses)
    {
        StreamHandle stream;
        using (var deadline = new CancellationTokenSource(settings.IdentifyTimeout))
            stream = await OpenAsync(network, peer, IdentifyService.PushProtocolId, "identify push", deadline.Token).ConfigureAwait(false);
        await ServiceStreams.ClientAsync(stream, async _ =>
        {
            var message = await IdentifyService.BuildAsync(settings, network.Swarm, stream.Connection.RemoteAddress, addresses).ConfigureAwait(false);
            await IdentifyService.WriteAsync(stream, message).ConfigureAwait(false);
            stream.Close();
            return true;
        }).ConfigureAwait(false);
    }
}
