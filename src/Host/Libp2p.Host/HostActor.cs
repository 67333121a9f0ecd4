using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Relay;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Host.Services;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.Relay;

namespace Libp2p.Host;

/// <summary>
/// The root of one node's actors (<c>/user/libp2p</c> for the default host): it makes the
/// peerstore, the Swarm and the identify service, registers the standard protocols, and is the
/// node's front door: every <see cref="SwarmProtocol"/> command sent to it is forwarded to the
/// Swarm with the sender kept, so the reply goes straight back to whoever asked; identify
/// commands go to the identify service. <see cref="GetSwarm"/> gives the Swarm itself, for
/// clients that talk to it without this hop. If the Swarm dies the host stops with it.
/// </summary>
public sealed class HostActor : ReceiveActor
{
    private readonly IActorRef _swarm;
    private readonly IActorRef _identify;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Asks for the node's Swarm; answered with <see cref="SwarmIs"/>, once the standard protocols are registered with it.</summary>
    public sealed record GetSwarm
    {
        /// <summary>The message.</summary>
        public static GetSwarm Instance { get; } = new();
    }

    /// <summary>The node's Swarm actor.</summary>
    public sealed record SwarmIs(IActorRef Swarm);

    /// <summary>Asks for the node's AutoNAT client and reachability tracker; answered with <see cref="AutoNatIs"/>.</summary>
    public sealed record GetAutoNat
    {
        /// <summary>The message.</summary>
        public static GetAutoNat Instance { get; } = new();
    }

    /// <summary>The node's AutoNAT v2 client and its <see cref="ReachabilityTrackerActor"/>; both null when <see cref="HostSettings.AutoNatClient"/> is off. <paramref name="Prober"/> is the <see cref="AutoNatProbeActor"/>, null unless <see cref="HostSettings.AutoNatProbe"/> is set too.</summary>
    public sealed record AutoNatIs(AutoNatClient? Client, IActorRef? Tracker, IActorRef? Prober = null);

    /// <summary>Asks for the node's <see cref="AddressManagerActor"/>; answered with <see cref="AddressManagerIs"/>.</summary>
    public sealed record GetAddressManager
    {
        /// <summary>The message.</summary>
        public static GetAddressManager Instance { get; } = new();
    }

    /// <summary>The node's <see cref="AddressManagerActor"/>.</summary>
    public sealed record AddressManagerIs(IActorRef AddressManager);

    private readonly IActorRef _addresses;

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public HostActor(HostSettings settings)
    {
        if (settings.Swarm.Transports.OfType<Libp2p.Protocols.Transport.TcpTransport>().Any() && AkkaIoSettings.Advice(Context.System.Settings.Config) is { } advice)
            _log.Warning(advice);
        var peerstore = Context.ActorOf(PeerstoreActor.Props(settings.Swarm.Clock, settings.Swarm.PeerstoreGracePeriod), "peerstore");
        _swarm = Context.ActorOf(SwarmActor.Props(settings.Swarm, peerstore), "swarm");
        Context.Watch(_swarm);
        var local = Libp2p.Protocols.Peer.PeerId.FromPublicKey(settings.Identity.PublicKey);
        _addresses = Context.ActorOf(AddressManagerActor.Props(local, settings.AddressManager, _swarm), "addresses");
        var autoNat = StartAutoNatClient(settings, local);
        _identify = Context.ActorOf(IdentifyActor.Props(settings, _swarm, peerstore, _addresses, autoNat.Prober), "identify");

        // Told before any Listen can reach the Swarm (they come through this actor, or straight to
        // the Swarm from a client that asked GetSwarm, later), so no inbound stream ever finds a
        // standard protocol missing.
        var (swarm, identify, addresses) = (_swarm, _identify, _addresses);
        Register(IdentifyService.ProtocolId, stream => IdentifyService.ServeAsync(stream, settings, swarm, addresses), ServiceNames.Identify);
        Register(IdentifyService.PushProtocolId, stream => IdentifyService.ReceivePushAsync(stream, identify), ServiceNames.Identify);
        if (settings.Ping)
            Register(PingService.ProtocolId, PingService.ServeAsync, ServiceNames.Ping);
        if (settings.Echo)
            Register(EchoService.ProtocolId, EchoService.ServeAsync);
        if (settings.Perf)
            Register(PerfService.ProtocolId, PerfService.ServeAsync);
        if (settings.Resources)
            Register(ResourcesService.ProtocolId, stream => ResourcesService.ServeAsync(stream, swarm));
        // Relayed connections reach this node through the stop protocol, served by the transport that takes them.
        foreach (var relayed in settings.Swarm.Transports.OfType<RelayTransport>())
        {
            relayed.Bind(swarm);
            Register(CircuitRelay.StopProtocolId, relayed.AcceptStopAsync);
        }
        if (settings.RelayService is { } relay)
        {
            var books = Context.ActorOf(RelayServiceActor.Props(settings.Identity, relay), "relay");
            var hop = new HopService(books, new Libp2p.Actors.Network.NetworkClient(swarm, Libp2p.Protocols.Peer.PeerId.FromPublicKey(settings.Identity.PublicKey)), relay,
                // The host's own (a child): one made from the system would share the system's stream supervisor.
                Akka.Streams.ActorMaterializer.Create(Context, namePrefix: "libp2p-relay"));
            Register(CircuitRelay.HopProtocolId, hop.ServeAsync);
        }
        if (settings.AutoNatService is { } autoNatService)
        {
            // Dial-backs leave from a Swarm of their own, with its own identity (the spec allows it):
            // a fresh connection to exactly the address asked about, never our connection to the client.
            var dialerKey = Libp2p.Protocols.Crypto.PrivateKey.Generate(Libp2p.Protocols.Crypto.KeyType.Ed25519);
            var dialerSettings = settings.Swarm with
            {
                Identity = dialerKey,
                Transports = settings.Swarm.Transports.Where(t => t is not RelayTransport).ToArray(),
                ConnectionManager = null,
                Resources = new Libp2p.Actors.Resources.ResourceManager(settings.Swarm.Resources.Limits),
            };
            var dialer = Context.ActorOf(SwarmActor.Props(dialerSettings), "autonat-dialer");
            var server = new AutoNatServer(new Libp2p.Actors.Network.NetworkClient(dialer, Libp2p.Protocols.Peer.PeerId.FromPublicKey(dialerKey.PublicKey)), autoNatService);
            Register(AutoNatV2.DialRequestProtocolId, server.ServeAsync);
        }

        if (settings.HolePunching is { } holePunching)
        {
            var network = new Libp2p.Actors.Network.NetworkClient(swarm, local);
            // The address manager's candidates: confirmed, observed (per observer group, port-translated
            // when seen from an ephemeral port), listen; private ones only when there is no public one.
            var candidates = AddressManagerProtocol.HolePunchCandidateSource(_addresses, TimeSpan.FromSeconds(5), fallBackToPrivate: true);
            var direct = settings.Swarm.Transports.Where(t => t is not RelayTransport).ToArray();
            bool CanDial(Libp2p.Protocols.Multiformats.Multiaddr address) => direct.Any(t => t.CanDial(address));
            Register(Libp2p.Protocols.Dcutr.HolePunchMessages.ProtocolId, stream => Libp2p.Actors.Dcutr.HolePunchExchange.ServeAsync(stream, network, candidates, CanDial, holePunching));
            Context.ActorOf(HolePunchActor.Props(local, network, identify, candidates, CanDial, holePunching), "hole-punching");
        }

        Receive<SwarmProtocol.HandlerSet>(_ => { });
        Receive<IdentifyService.IdentifyPeer>(m => _identify.Forward(m));
        Receive<GetSwarm>(_ => Sender.Tell(new SwarmIs(_swarm)));
        Receive<GetAutoNat>(_ => Sender.Tell(autoNat));
        Receive<GetAddressManager>(_ => Sender.Tell(new AddressManagerIs(_addresses)));
        Receive<Terminated>(t => t.ActorRef.Equals(_swarm), _ =>
        {
            _log.Warning("the swarm stopped; the host stops with it");
            Context.Stop(Self);
        });
        ReceiveAny(m => _swarm.Forward(m));
    }

    /// <summary>The root actor of a host with <paramref name="settings"/>.</summary>
    public static Props Props(HostSettings settings) => Akka.Actor.Props.Create(() => new HostActor(settings));

    /// <summary>The Swarm stops its children when it fails; it is not restarted with a fresh table behind the apps' backs.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "a part of the host failed and is stopped");
        return Directive.Stop;
    });

    /// <summary>The AutoNAT client: the dial-back handler, the reachability tracker, and the periodic prober.</summary>
    private AutoNatIs StartAutoNatClient(HostSettings settings, Libp2p.Protocols.Peer.PeerId local)
    {
        if (!settings.AutoNatClient)
            return new AutoNatIs(null, null);
        var client = new AutoNatClient(new Libp2p.Actors.Network.NetworkClient(_swarm, local));
        Register(AutoNatV2.DialBackProtocolId, client.ServeDialBackAsync);
        var tracker = Context.ActorOf(ReachabilityTrackerActor.Props(local, settings.ReachabilityWindow, settings.ReachabilityThreshold), "reachability");
        IActorRef? prober = null;
        if (settings.AutoNatProbe is { } probe)
            prober = Context.ActorOf(AutoNatProbeActor.Props(local, (server, addresses, token) => client.CheckAsync(server, addresses, probe.CheckTimeout, token),
                _swarm, _addresses, tracker, probe), "autonat-probe");
        return new AutoNatIs(client, tracker, prober);
    }


    /// <summary>
    /// Serves <paramref name="protocol"/>; with a <paramref name="service"/>, each stream is charged
    /// to that service's scope first (a full service resets the stream before the handler runs).
    /// </summary>
    private void Register(string protocol, Func<StreamHandle, Task> handler, string? service = null) =>
        _swarm.Tell(new SwarmProtocol.SetStreamHandler(protocol, StreamHandler.From(service is null ? handler : async stream =>
        {
            await stream.SetServiceAsync(service).ConfigureAwait(false);
            await handler(stream).ConfigureAwait(false);
        })));
}
