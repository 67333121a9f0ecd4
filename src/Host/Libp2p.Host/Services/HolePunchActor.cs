using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Dcutr;
using Libp2p.Actors.Network;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Dcutr;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Host.Services;

/// <summary>
/// Hole punching (DCUtR) on this node's side of the spec's B: when a relayed (limited) connection
/// comes in, it asks identify whether the peer speaks <c>/libp2p/dcutr</c> and, if so and no direct
/// connection exists, dials the peer's public addresses if it advertises any
/// (<see cref="HolePunchExchange.TryDirectDialAsync"/>, the spec's unilateral upgrade), else runs
/// <see cref="HolePunchExchange.InitiateAsync"/>. A direct connection
/// replaces the relayed one, which is closed. Each outcome is published as a
/// <see cref="HolePunchProtocol.HolePunchSucceeded"/> or <see cref="HolePunchProtocol.HolePunchFailed"/>.
/// One punch per peer at a time. The serving side (the spec's A) is a stream handler the host
/// registers (<see cref="HolePunchExchange.ServeAsync"/>).
/// </summary>
public sealed class HolePunchActor : ReceiveActor
{
    private readonly PeerId _local;
    private readonly NetworkClient _network;
    private readonly IActorRef _identify;
    private readonly Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> _candidates;
    private readonly Func<Multiaddr, bool> _canDial;
    private readonly HolePunchSettings _settings;
    private readonly HashSet<PeerId> _running = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private sealed record Identified(PeerId Peer, long Started, IdentifyResult? Result, string? Error);
    private sealed record Finished(PeerId Peer, long Started, HolePunchResult? Result, Exception? Error, bool Skipped);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public HolePunchActor(PeerId local, NetworkClient network, IActorRef identify, Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> candidates,
        Func<Multiaddr, bool> canDial, HolePunchSettings settings)
    {
        _local = local;
        _network = network;
        _identify = identify;
        _candidates = candidates;
        _canDial = canDial;
        _settings = settings;

        Receive<SwarmProtocol.Connected>(c => c.Connection.LocalPeer == _local, c =>
        {
            var connection = c.Connection;
            // Only the side that received the relayed connection punches; the dialer serves.
            if (!connection.Stat.Transient || connection.Stat.Direction != Direction.Inbound || !_running.Add(connection.RemotePeer))
                return;
            var peer = connection.RemotePeer;
            var started = Stopwatch.GetTimestamp();
            _identify.Ask<object>(new IdentifyService.IdentifyPeer(peer), _settings.StreamTimeout)
                .PipeTo(Self,
                    success: reply => reply switch
                    {
                        IdentifyService.PeerIdentified identified => new Identified(peer, started, identified.Result, null),
                        IdentifyService.IdentifyFailed failed => new Identified(peer, started, null, failed.Reason.Message),
                        _ => new Identified(peer, started, null, $"identify answered {reply.GetType().Name}"),
                    },
                    failure: e => new Identified(peer, started, null, e.Message));
        });
        Receive<Identified>(i =>
        {
            if (i.Result is null || !i.Result.Protocols.Contains(HolePunchMessages.ProtocolId))
            {
                _running.Remove(i.Peer);
                _log.Debug("no hole punching with {0}: {1}", i.Peer, i.Error ?? "it does not speak " + HolePunchMessages.ProtocolId);
                return;
            }
            PunchAsync(i.Peer, i.Result.ListenAddresses).PipeTo(Self,
                success: r => new Finished(i.Peer, i.Started, r, null, r is null),
                failure: e => new Finished(i.Peer, i.Started, null, e, false));
        });
        Receive<Finished>(f =>
        {
            _running.Remove(f.Peer);
            var elapsed = Stopwatch.GetElapsedTime(f.Started);
            if (f.Skipped)
                return;
            if (f.Result is { } result)
            {
                _log.Info("hole punched to {0} at {1} in {2} round(s), {3:0.#} ms", f.Peer, result.Connection.RemoteAddress, result.Attempts, elapsed.TotalMilliseconds);
                Context.System.EventStream.Publish(new HolePunchProtocol.HolePunchSucceeded(_local, f.Peer, result.Attempts, elapsed, result.Connection.RemoteAddress, result.Rtt));
            }
            else
            {
                var error = f.Error?.GetBaseException() is HolePunchException h ? h : f.Error;
                _log.Info("hole punching to {0} failed: {1}", f.Peer, error?.Message);
                Context.System.EventStream.Publish(new HolePunchProtocol.HolePunchFailed(_local, f.Peer, (error as HolePunchException)?.Attempts ?? 0, elapsed, error?.Message ?? "unknown"));
            }
        });
    }

    /// <summary>The service of node <paramref name="local"/>: punches through its <paramref name="network"/>, offering what <paramref name="candidates"/> gives.</summary>
    public static Props Props(PeerId local, NetworkClient network, IActorRef identify, Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> candidates,
        Func<Multiaddr, bool> canDial, HolePunchSettings settings) =>
        Akka.Actor.Props.Create(() => new HolePunchActor(local, network, identify, candidates, canDial, settings));

    /// <inheritdoc />
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(SwarmProtocol.Connected));

    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>
    /// Punches unless a direct connection exists already (null then): a plain dial first when the
    /// peer advertises public addresses (the spec's unilateral upgrade), else the CONNECT/SYNC
    /// exchange. On success closes the relayed connections to the peer.
    /// </summary>
    private async Task<HolePunchResult?> PunchAsync(PeerId peer, IReadOnlyList<Multiaddr> advertised)
    {
        var token = _stopping.Token;
        if ((await _network.ConnsAsync(peer, token).ConfigureAwait(false)).Any(c => !c.Stat.Transient))
            return null;
        var result = await HolePunchExchange.TryDirectDialAsync(_network, peer, advertised, _canDial, _settings, token).ConfigureAwait(false)
            ?? await HolePunchExchange.InitiateAsync(_network, peer, _candidates, _canDial, _settings, token).ConfigureAwait(false);
        // Replaced: new streams go on the direct connection; the relayed one would only hold a slot at the relay.
        foreach (var relayed in (await _network.ConnsAsync(peer, token).ConfigureAwait(false)).Where(c => c.Stat.Transient))
            relayed.Actor.Tell(Conn.Close.Instance);
        return result;
    }
}
