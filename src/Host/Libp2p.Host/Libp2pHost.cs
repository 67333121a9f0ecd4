using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Host.Services;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Actors.Swarm;

namespace Libp2p.Host;

/// <summary>
/// A libp2p node in an actor system: its actors (a <see cref="HostActor"/> with the Swarm,
/// peerstore and identify service under it), the standard protocols, and an async API over them.
/// <see cref="Get"/> gives the system's default node, configured by <c>akka.libp2p</c>;
/// <see cref="StartAsync"/> starts more nodes, each under its own name.
/// </summary>
public sealed class Libp2pHost : IExtension
{
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task<IActorRef> _swarm;

    /// <summary>The actor system the node runs in: its EventStream carries the node's events.</summary>
    public ActorSystem System { get; }

    internal Libp2pHost(ActorSystem system, HostSettings settings, string name)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        // The Swarm would refuse to start; said here, to the caller, rather than in a log.
        if (settings.Swarm.ConnectionManager?.Conflict(settings.Swarm.Resources.Limits) is { } conflict)
            throw new ArgumentException(conflict, nameof(settings));
        Settings = settings;
        System = system;
        PeerId = PeerId.FromPublicKey(settings.Identity.PublicKey);
        Actor = system.ActorOf(HostActor.Props(settings), name);
        // The async API talks to the Swarm itself, not through the root actor; the root actor
        // answers with it once the standard protocols are registered, so none is missing at Listen.
        _swarm = ResolveSwarmAsync(Actor);
        Network = new NetworkClient(_swarm, PeerId);
        Started = ListenAsync(settings.ListenAddresses);
        WatchForStop(system, Actor);
        // Connections close in order (streams, then sockets) before the system tears actors down.
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, $"libp2p-stop-{name}", async () =>
        {
            await StopAsync().ConfigureAwait(false);
            return Akka.Done.Instance;
        });
    }

    /// <summary>
    /// The system's default node, made on first use from <c>akka.libp2p</c> in the system's
    /// configuration (with <see cref="HostSettings.ReferenceConfig"/> for what it leaves out) and
    /// a <see cref="Libp2pSetup"/> if the system was created with one. It starts listening at once;
    /// await <see cref="Started"/> for the bound addresses.
    /// </summary>
    public static Libp2pHost Get(ActorSystem system) => system.WithExtension<Libp2pHost, Libp2pHostProvider>();

    /// <summary>Starts a node under <c>/user/<paramref name="name"/></c> and waits until it listens.</summary>
    public static async Task<Libp2pHost> StartAsync(ActorSystem system, HostSettings settings, string name = "libp2p", CancellationToken cancellationToken = default)
    {
        var host = new Libp2pHost(system, settings, name);
        try
        {
            await host.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing half-started stays behind: the name is free for another try.
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return host;
    }

    /// <summary>What the node is made of.</summary>
    public HostSettings Settings { get; }

    /// <summary>This node's peer ID.</summary>
    public PeerId PeerId { get; }

    /// <summary>The node's root actor; it takes every <see cref="SwarmProtocol"/> command and <see cref="IdentifyService.IdentifyPeer"/>.</summary>
    public IActorRef Actor { get; }

    /// <summary>The seed's <c>Network</c> as async methods.</summary>
    public NetworkClient Network { get; }

    /// <summary>
    /// Completes once every configured address listens, with the addresses others can dial, as
    /// <see cref="AddressesAsync"/> gives them: wildcards expanded to this host's interface
    /// addresses, real ports for port 0, each ending in <c>/p2p/</c> and this node's peer ID. Faults
    /// when an address cannot be listened on.
    /// </summary>
    public Task<IReadOnlyList<Multiaddr>> Started { get; }

    /// <summary>Completes when the node's actors are gone, by <see cref="StopAsync"/> or otherwise.</summary>
    public Task Stopped => _stopped.Task;

    private async Task<IReadOnlyList<Multiaddr>> ListenAsync(IReadOnlyList<Multiaddr> addresses)
    {
        await Network.ListenAsync(addresses).ConfigureAwait(false);
        return await AddressesAsync().ConfigureAwait(false);
    }

    /// <summary>The addresses others can dial, each ending in <c>/p2p/</c> and this node's peer ID (wildcards expanded).</summary>
    public async Task<IReadOnlyList<Multiaddr>> AddressesAsync(CancellationToken cancellationToken = default)
    {
        var suffix = Multiaddr.Parse($"/p2p/{PeerId}");
        var addresses = await Network.InterfaceListenAddressesAsync(cancellationToken).ConfigureAwait(false);
        // Bare /p2p-circuit only says relayed connections are accepted; the addresses to dial come from reservations.
        return [.. addresses.Where(a => !(a.Components.Count == 1 && a.Has(MultiaddrProtocol.P2pCircuit))).Select(a => a.Encapsulate(suffix))];
    }

    /// <summary>Dials the peer named by the <c>/p2p/</c> part of <paramref name="address"/> at the rest of it.</summary>
    /// <exception cref="ArgumentException">The address has no <c>/p2p/</c> part.</exception>
    public async Task<ConnectionInfo> ConnectAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        var (peer, transport) = Split(address);
        return await Network.DialPeerAsync(peer, Dialing, [transport], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks the AutoNAT v2 server <paramref name="server"/> (connected, or known to the peerstore)
    /// to dial this node at the first of <paramref name="addresses"/> (when null, the address
    /// manager's candidates: unchecked first, public first) it is willing to, counts the result
    /// towards the node's reachability verdict and the address manager's confirmed or unreachable
    /// addresses, and returns it. A changed verdict is published as <see cref="Libp2p.Actors.AutoNat.ReachabilityChanged"/>.
    /// </summary>
    /// <exception cref="Libp2p.Protocols.AutoNat.AutoNatException">The server refused or broke the protocol.</exception>
    /// <exception cref="TimeoutException">No answer within the dial timeout.</exception>
    /// <exception cref="InvalidOperationException">The AutoNAT client is off (<c>autonat.client = off</c>), or there is no address to check.</exception>
    public async Task<Libp2p.Actors.AutoNat.AutoNatResult> CheckReachabilityAsync(PeerId server, IReadOnlyList<Multiaddr>? addresses = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        var autoNat = await AutoNatAsync(cancellationToken).ConfigureAwait(false);
        var manager = await AddressManagerAsync(cancellationToken).ConfigureAwait(false);
        addresses ??= (await manager.Ask<Libp2p.Actors.AutoNat.AddressManagerProtocol.AutoNatCandidatesAre>(
            Libp2p.Actors.AutoNat.AddressManagerProtocol.GetAutoNatCandidates.Instance, Settings.DialTimeout, cancellationToken).ConfigureAwait(false)).Addresses;
        if (addresses.Count == 0)
            throw new InvalidOperationException("this host has no direct TCP address to check (it listens on none, and no peer has observed one)");
        var result = await autoNat.Client!.CheckAsync(server, addresses, Settings.DialTimeout, cancellationToken).ConfigureAwait(false);
        autoNat.Tracker!.Tell(new Libp2p.Actors.AutoNat.ReachabilityTrackerProtocol.Record(result));
        manager.Tell(new Libp2p.Actors.AutoNat.AddressManagerProtocol.Checked(result));
        return result;
    }

    /// <summary>The node's reachability verdict from the AutoNAT results so far.</summary>
    /// <exception cref="InvalidOperationException">The AutoNAT client is off (<c>autonat.client = off</c>).</exception>
    public async Task<Reachability> ReachabilityAsync(CancellationToken cancellationToken = default)
    {
        var autoNat = await AutoNatAsync(cancellationToken).ConfigureAwait(false);
        var state = await autoNat.Tracker!.Ask<Libp2p.Actors.AutoNat.ReachabilityTrackerProtocol.ReachabilityIs>(
            Libp2p.Actors.AutoNat.ReachabilityTrackerProtocol.GetReachability.Instance, Settings.DialTimeout, cancellationToken).ConfigureAwait(false);
        return state.Reachability;
    }

    /// <summary>
    /// What this node's address manager knows: listen, observed, confirmed, unreachable and relayed
    /// addresses, what identify advertises, the NAT type per transport, and the reachability verdict.
    /// </summary>
    public async Task<Libp2p.Actors.AutoNat.AddressManagerProtocol.StateIs> AddressStateAsync(CancellationToken cancellationToken = default)
    {
        var manager = await AddressManagerAsync(cancellationToken).ConfigureAwait(false);
        return await manager.Ask<Libp2p.Actors.AutoNat.AddressManagerProtocol.StateIs>(Libp2p.Actors.AutoNat.AddressManagerProtocol.GetState.Instance, Settings.DialTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The addresses a hole punch should offer the other side, best first: confirmed, observed (by
    /// most observers first), public listen addresses; never relayed ones, nor private and loopback
    /// ones (the other overload takes those too, for a LAN or tests). The method group is the
    /// candidate source a DCUtR service takes: <c>Func&lt;CancellationToken, Task&lt;IReadOnlyList&lt;Multiaddr&gt;&gt;&gt; candidates = host.HolePunchCandidatesAsync;</c>
    /// </summary>
    public async Task<IReadOnlyList<Multiaddr>> HolePunchCandidatesAsync(CancellationToken cancellationToken) =>
        await HolePunchCandidatesAsync(false, cancellationToken).ConfigureAwait(false);

    /// <summary>As <see cref="HolePunchCandidatesAsync(CancellationToken)"/>; with <paramref name="includePrivate"/> private and loopback addresses too.</summary>
    public async Task<IReadOnlyList<Multiaddr>> HolePunchCandidatesAsync(bool includePrivate, CancellationToken cancellationToken = default)
    {
        var manager = await AddressManagerAsync(cancellationToken).ConfigureAwait(false);
        return await Libp2p.Actors.AutoNat.AddressManagerProtocol.HolePunchCandidateSource(manager, Settings.DialTimeout, includePrivate)(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The node's <see cref="Libp2p.Actors.AutoNat.AddressManagerActor"/>, for code that talks to it directly (a DCUtR service's candidate source: <see cref="Libp2p.Actors.AutoNat.AddressManagerProtocol.HolePunchCandidateSource"/>).</summary>
    public async Task<IActorRef> AddressManagerAsync(CancellationToken cancellationToken = default) =>
        (await Actor.Ask<HostActor.AddressManagerIs>(HostActor.GetAddressManager.Instance, Settings.DialTimeout, cancellationToken).ConfigureAwait(false)).AddressManager;

    private async Task<HostActor.AutoNatIs> AutoNatAsync(CancellationToken cancellationToken)
    {
        var autoNat = await Actor.Ask<HostActor.AutoNatIs>(HostActor.GetAutoNat.Instance, Settings.DialTimeout, cancellationToken).ConfigureAwait(false);
        return autoNat.Client is null || autoNat.Tracker is null
            ? throw new InvalidOperationException("this host's AutoNAT client is off (akka.libp2p.autonat.client = off)")
            : autoNat;
    }

    /// <summary>
    /// Reserves a slot on the relay at <paramref name="relayAddress"/> (ending in its <c>/p2p/</c>)
    /// and listens on <c>/p2p-circuit</c>, so others reach this node through the relay at the
    /// reservation's addresses (each followed by this node's <c>/p2p/</c>). The reservation lasts
    /// until <see cref="Libp2p.Actors.Relay.RelayReservation.Expiration"/>; reserve again to renew it.
    /// Identify advertises the relayed addresses until then.
    /// </summary>
    /// <exception cref="Libp2p.Protocols.Relay.CircuitRelayException">The relay refused; its status says why.</exception>
    /// <exception cref="InvalidOperationException">This host has no relay transport (<c>relay.client = off</c>).</exception>
    public async Task<Libp2p.Actors.Relay.RelayReservation> ReserveAsync(Multiaddr relayAddress, CancellationToken cancellationToken = default)
    {
        if (!Settings.Swarm.Transports.OfType<Libp2p.Actors.Relay.RelayTransport>().Any())
            throw new InvalidOperationException("this host has no relay transport (akka.libp2p.relay.client = off), so it cannot accept relayed connections");
        var (relay, transport) = Split(relayAddress);
        var reservation = await Libp2p.Actors.Relay.RelayClient.ReserveAsync(Network, relay, transport.IsEmpty ? null : [transport], Settings.DialTimeout, cancellationToken).ConfigureAwait(false);
        var listening = await Network.ListenAddressesAsync(cancellationToken).ConfigureAwait(false);
        if (!listening.Any(a => a.Has(MultiaddrProtocol.P2pCircuit)))
            await Network.ListenAsync([Multiaddr.Parse("/p2p-circuit")], cancellationToken).ConfigureAwait(false);
        // As a RelayReservationActor publishes its reservations: the address manager advertises the relayed addresses until they expire.
        (await AddressManagerAsync(cancellationToken).ConfigureAwait(false)).Tell(new Libp2p.Actors.Relay.RelayReservationActor.RelayReservationChanged(PeerId, relay, reservation, null));
        return reservation;
    }

    /// <summary>Pings a peer <paramref name="count"/> times on one stream and returns the round-trip times.</summary>
    public async Task<IReadOnlyList<TimeSpan>> PingAsync(PeerId peer, int count = 1, CancellationToken cancellationToken = default)
    {
        // As go's ping does: a relayed (limited) connection is good enough for a few bytes.
        var stream = await Network.NewStreamAsync(peer, [PingService.ProtocolId], Dialing.WithUseTransient("ping"), cancellationToken).ConfigureAwait(false);
        await stream.SetServiceAsync(ServiceNames.Ping).ConfigureAwait(false);
        var times = new List<TimeSpan>(count);
        await foreach (var rtt in PingService.RunAsync(stream, count, cancellationToken).ConfigureAwait(false))
            times.Add(rtt);
        return times;
    }

    /// <summary>Sends <paramref name="payload"/> to a peer's echo service and checks it comes back; returns the round-trip time.</summary>
    public async Task<TimeSpan> EchoAsync(PeerId peer, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        var stream = await Network.NewStreamAsync(peer, [EchoService.ProtocolId], Dialing, cancellationToken).ConfigureAwait(false);
        return await EchoService.RunAsync(stream, payload, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Measures throughput to and from a peer with <c>/perf/1.0.0</c>.</summary>
    public async Task<PerfResult> PerfAsync(PeerId peer, long upload, long download, IProgress<PerfProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var stream = await Network.NewStreamAsync(peer, [PerfService.ProtocolId], Dialing, cancellationToken).ConfigureAwait(false);
        return await PerfService.RunAsync(stream, upload, download, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the peer told us in identify: the last answer, or the next one if it is still coming (dials when not connected).</summary>
    public async Task<IdentifyResult> IdentifyAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        await Network.DialPeerAsync(peer, Dialing.WithUseTransient("identify runs on relayed connections too"), cancellationToken: cancellationToken).ConfigureAwait(false);
        var reply = await Actor.Ask(new IdentifyService.IdentifyPeer(peer), Settings.DialTimeout, cancellationToken).ConfigureAwait(false);
        return reply switch
        {
            IdentifyService.PeerIdentified identified => identified.Result,
            IdentifyService.IdentifyFailed failed => throw failed.Reason,
            _ => throw new InvalidOperationException($"unexpected reply {reply}"),
        };
    }

    /// <summary>Every resource scope's usage and limit, system first.</summary>
    public async Task<IReadOnlyList<ScopeSnapshot>> ResourceSnapshotAsync(CancellationToken cancellationToken = default)
    {
        var swarm = await _swarm.WaitAsync(cancellationToken).ConfigureAwait(false);
        var reply = await swarm.Ask<SwarmProtocol.ResourceSnapshotIs>(SwarmProtocol.GetResourceSnapshot.Instance, Settings.DialTimeout, cancellationToken).ConfigureAwait(false);
        return reply.Scopes;
    }

    /// <summary>A peer's resource scopes, read with <c>/libp2p-dotnet/resources/1.0.0</c> (the peer must serve it).</summary>
    public async Task<IReadOnlyList<ScopeSnapshot>> RemoteResourceSnapshotAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        var stream = await Network.NewStreamAsync(peer, [ResourcesService.ProtocolId], Dialing, cancellationToken).ConfigureAwait(false);
        return await ResourcesService.RunAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes listeners, connections and streams in order, then stops the node's actors.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopped.Task.IsCompleted)
            return;
        try
        {
            await Network.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            // The host is already gone (it stops with its Swarm): nothing left to close.
        }
        Actor.Tell(PoisonPill.Instance);
        await Stopped.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Splits <c>/ip4/…/tcp/…/p2p/Qm…</c> into the peer and the address to dial it at.</summary>
    /// <exception cref="ArgumentException">There is no <c>/p2p/</c> part, or it is not a peer ID.</exception>
    public static (PeerId Peer, Multiaddr Address) Split(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var text = address.PeerIdText ?? throw new ArgumentException($"{address} does not end in /p2p/<peer id>, so the peer to expect is unknown", nameof(address));
        return (PeerId.Parse(text), address.Decapsulate("p2p"));
    }

    private static async Task<IActorRef> ResolveSwarmAsync(IActorRef host) =>
        (await host.Ask<HostActor.SwarmIs>(HostActor.GetSwarm.Instance, TimeSpan.FromMinutes(5)).ConfigureAwait(false)).Swarm;

    private DialOptions Dialing => DialOptions.Default.WithTimeout(Settings.DialTimeout);

    private void WatchForStop(ActorSystem system, IActorRef actor)
    {
        // A tiny watcher, so Stopped completes however the host goes (stop, failure, system shutdown).
        system.ActorOf(Props.Create(() => new StopWatcher(actor, _stopped)));
    }

    private sealed class StopWatcher : ReceiveActor
    {
        private readonly TaskCompletionSource _stopped;

        public StopWatcher(IActorRef watched, TaskCompletionSource stopped)
        {
            _stopped = stopped;
            Context.Watch(watched);
            Receive<Terminated>(_ =>
            {
                stopped.TrySetResult();
                Context.Stop(Self);
            });
        }

        protected override void PostStop() => _stopped.TrySetResult();
    }
}

/// <summary>Makes the system's default <see cref="Libp2pHost"/> (<see cref="Libp2pHost.Get"/>).</summary>
public sealed class Libp2pHostProvider : ExtensionIdProvider<Libp2pHost>
{
    /// <inheritdoc />
    public override Libp2pHost CreateExtension(ExtendedActorSystem system)
    {
        var setup = system.Settings.Setup.Get<Libp2pSetup>();
        var settings = setup.HasValue && setup.Value.Settings is { } given
            ? given
            : HostSettings.FromConfig(system.Settings.Config, setup.HasValue ? setup.Value.Identity : null);
        return new Libp2pHost(system, settings, "libp2p");
    }
}

/// <summary>
/// What code hands the default host that HOCON cannot carry: an identity key already in memory,
/// or whole <see cref="HostSettings"/>. Pass it in the <c>ActorSystemSetup</c>.
/// </summary>
public sealed class Libp2pSetup : Akka.Actor.Setup.Setup
{
    /// <summary>Settings to use instead of <c>akka.libp2p</c>.</summary>
    public HostSettings? Settings { get; init; }

    /// <summary>The identity to use with the settings read from <c>akka.libp2p</c>.</summary>
    public Protocols.Crypto.PrivateKey? Identity { get; init; }
}
