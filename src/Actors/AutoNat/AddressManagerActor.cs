using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using Libp2p.Actors.Network;
using Libp2p.Actors.Relay;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.AutoNat;

/// <summary>
/// This node's addresses as others can use them, one message at a time. It holds:
/// <list type="bullet">
/// <item>the listen addresses (from the Swarm, refreshed on each <see cref="SwarmProtocol.ListenStarted"/> and <see cref="SwarmProtocol.ListenClosed"/>);</item>
/// <item>observations from identify: who saw which of our thin-waist addresses (ip/tcp|udp/port)
/// at which address, and when. One per observer group (an IPv4 address, an IPv6 /56) and local
/// address, at most <see cref="AddressManagerSettings.MaxObservationsPerObserver"/> per group and
/// <see cref="AddressManagerSettings.MaxObservations"/> in all (least recently seen out first),
/// forgotten after <see cref="AddressManagerSettings.ObservationTtl"/>. A connection from a port we
/// do not listen on tells only our external IP: it is recorded as that IP with our listen port
/// (rust-libp2p's address translation), and does not count towards the NAT type;</item>
/// <item>AutoNAT v2 results per address (confirmed reachable, or unreachable), for <see cref="AddressManagerSettings.ResultTtl"/>;</item>
/// <item>relayed addresses from relay reservations (<see cref="RelayReservationActor.RelayReservationChanged"/>), until they expire or a renewal fails.</item>
/// </list>
/// From these it answers what identify advertises, what a hole punch tries and what AutoNAT
/// checks, and judges the NAT type (go-libp2p's observed-address manager): per transport, when the
/// observers of each local address mostly see one ip:port the NAT maps endpoint-independently
/// (<see cref="NATDeviceType.Cone"/>), when they see different ones it does not
/// (<see cref="NATDeviceType.Symmetric"/>). Changes are published as
/// <see cref="AdvertisedAddressesChanged"/> and <see cref="NatDeviceTypeChanged"/>.
/// </summary>
public sealed class AddressManagerActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private const int MaxHolePunchCandidates = 32;
    private readonly PeerId _local;
    private readonly AddressManagerSettings _settings;
    private readonly IActorRef? _swarm;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<(string LocalThinWaist, string Group, bool Translated), Observation> _observations = [];
    private readonly Dictionary<Multiaddr, Result> _results = [];
    private readonly Dictionary<PeerId, (IReadOnlyList<Multiaddr> Addresses, DateTimeOffset Expiration)> _relayed = [];
    private IReadOnlyList<Multiaddr> _listen = [];
    private IReadOnlyList<Multiaddr> _advertised = [];
    private Reachability _reachability = Reachability.Unknown;
    private NATDeviceType _tcpNat = NATDeviceType.Unknown;
    private NATDeviceType _udpNat = NATDeviceType.Unknown;
    private int _refreshes;
    private long _refreshSent;
    private long _refreshApplied;

    private sealed record Observation(string LocalThinWaist, string Group, bool Translated, PeerId Observer, Multiaddr ObservedThinWaist, Multiaddr Address, DateTimeOffset Seen);
    private sealed record Result(bool Reachable, DateTimeOffset At, PeerId Server);
    private sealed record Sweep;
    private sealed record Refreshed(long Sequence, IReadOnlyList<Multiaddr> Addresses);
    private sealed record RefreshFailed(Exception Reason);

    /// <summary>Use <see cref="Props"/>; public only because actor creation needs it.</summary>
    public AddressManagerActor(PeerId local, AddressManagerSettings settings, IActorRef? swarm)
    {
        _local = local;
        _settings = settings;
        _swarm = swarm;
        Receive<AddressManagerProtocol.ListenAddressesChanged>(l =>
        {
            _listen = [.. l.Addresses.Where(IsDialable).Distinct()];
            Changed();
        });
        Receive<Refreshed>(r =>
        {
            _refreshes = Math.Max(0, _refreshes - 1);
            // Answers to overlapping asks may arrive out of order; the Swarm answered them in order,
            // so the later ask's answer is the newer state.
            if (r.Sequence > _refreshApplied)
            {
                _refreshApplied = r.Sequence;
                _listen = [.. r.Addresses.Where(IsDialable).Distinct()];
                Changed();
            }
            if (_refreshes == 0)
                Stash.UnstashAll();
        });
        Receive<RefreshFailed>(f =>
        {
            _log.Warning("the listen addresses could not be read from the swarm: {0}", f.Reason.Message);
            _refreshes = Math.Max(0, _refreshes - 1);
            if (_refreshes == 0)
                Stash.UnstashAll();
        });
        Receive<SwarmProtocol.ListenStarted>(l => l.LocalPeer == _local, _ => Refresh());
        Receive<SwarmProtocol.ListenClosed>(l => l.LocalPeer == _local, _ => Refresh());
        Receive<AddressManagerProtocol.Observed>(o =>
        {
            if (Record(o))
                Changed();
        });
        Receive<AddressManagerProtocol.Checked>(c => Confirm(c.Result));
        Receive<ReachabilityChanged>(r => r.LocalPeer == _local, r =>
        {
            _reachability = r.Reachability;
            Changed();
        });
        Receive<RelayReservationActor.RelayReservationChanged>(r => r.LocalPeer == _local && r.Reservation is not null, r =>
        {
            _relayed[r.Relay] = (r.Reservation!.Addresses.Where(a => a.Has(MultiaddrProtocol.P2pCircuit)).ToArray(), r.Reservation.Expiration);
            Changed();
        });
        Receive<RelayReservationActor.RelayReservationChanged>(r => r.LocalPeer == _local && r.Error is not null, r =>
        {
            // A renewal or a new reservation failed (the connection to the relay went, or the relay
            // refused): what it gave before may be gone with it, so it is no longer advertised.
            if (_relayed.Remove(r.Relay))
                Changed();
        });
        Receive<Sweep>(_ => Changed());
        // Other nodes' events in a shared ActorSystem are not ours to act on.
        Receive<SwarmProtocol.ListenStarted>(_ => { });
        Receive<SwarmProtocol.ListenClosed>(_ => { });
        Receive<ReachabilityChanged>(_ => { });
        Receive<RelayReservationActor.RelayReservationChanged>(_ => { });
        // Questions wait while the listen addresses are being read, so an answer never misses a listener that just started.
        Receive<AddressManagerProtocol.GetAdvertisedAddresses>(_ => _refreshes > 0, _ => Stash.Stash());
        Receive<AddressManagerProtocol.GetHolePunchCandidates>(_ => _refreshes > 0, _ => Stash.Stash());
        Receive<AddressManagerProtocol.GetAutoNatCandidates>(_ => _refreshes > 0, _ => Stash.Stash());
        Receive<AddressManagerProtocol.GetState>(_ => _refreshes > 0, _ => Stash.Stash());
        Receive<AddressManagerProtocol.GetAdvertisedAddresses>(_ =>
        {
            Prune();
            Sender.Tell(new AddressManagerProtocol.AdvertisedAddressesAre(Advertised()));
        });
        Receive<AddressManagerProtocol.GetHolePunchCandidates>(g =>
        {
            Prune();
            Sender.Tell(new AddressManagerProtocol.HolePunchCandidatesAre(HolePunchCandidates(g.IncludePrivate)));
        });
        Receive<AddressManagerProtocol.GetAutoNatCandidates>(_ =>
        {
            Prune();
            Sender.Tell(AutoNatCandidates());
        });
        Receive<AddressManagerProtocol.GetState>(_ =>
        {
            Prune();
            var (tcp, udp) = NatTypes();
            Sender.Tell(new AddressManagerProtocol.StateIs(_listen, ObservedAddresses(), Addresses(reachable: true), Addresses(reachable: false),
                Relayed(), Advertised(), tcp, udp, _reachability, _observations.Count));
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>
    /// The address manager of <paramref name="local"/>; with <paramref name="swarm"/> it reads the
    /// listen addresses from it, without one it is told <see cref="AddressManagerProtocol.ListenAddressesChanged"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The settings cannot work; the message says why.</exception>
    public static Props Props(PeerId local, AddressManagerSettings? settings = null, IActorRef? swarm = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        settings ??= AddressManagerSettings.Default;
        if (settings.Problem() is { } problem)
            throw new ArgumentException(problem, nameof(settings));
        return Akka.Actor.Props.Create(() => new AddressManagerActor(local, settings, swarm));
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        var events = Context.System.EventStream;
        events.Subscribe(Self, typeof(ReachabilityChanged));
        events.Subscribe(Self, typeof(RelayReservationActor.RelayReservationChanged));
        if (_swarm is not null)
        {
            events.Subscribe(Self, typeof(SwarmProtocol.ListenStarted));
            events.Subscribe(Self, typeof(SwarmProtocol.ListenClosed));
            Refresh();
        }
        // Expiry shows in answers at once (each prunes first); the sweep publishes it when nobody asks.
        var every = TimeSpan.FromTicks(Math.Clamp(Math.Min(_settings.ObservationTtl.Ticks, _settings.ResultTtl.Ticks) / 4, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromMinutes(1).Ticks));
        Timers.StartPeriodicTimer(nameof(Sweep), new Sweep(), every);
    }

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void Refresh()
    {
        if (_swarm is null)
            return;
        _refreshes++;
        var sequence = ++_refreshSent;
        _swarm.Ask<SwarmProtocol.ListenAddressesAre>(new SwarmProtocol.GetListenAddresses(ExpandInterfaces: true), TimeSpan.FromSeconds(10))
            .PipeTo(Self, success: a => new Refreshed(sequence, a.Addresses), failure: e => new RefreshFailed(e));
    }

    /// <summary>Records one observation; false when it is not one to keep (loopback, relayed, another transport or IP family, no IP).</summary>
    private bool Record(AddressManagerProtocol.Observed o)
    {
        if (o.ObservedAddress.Has(MultiaddrProtocol.P2pCircuit) || o.LocalAddress.Has(MultiaddrProtocol.P2pCircuit) || o.RemoteAddress.Has(MultiaddrProtocol.P2pCircuit))
            return false;
        if (!ThinWaist(o.ObservedAddress, out var observedTw, out var observedIp, out _) || IPAddress.IsLoopback(observedIp)
            || !ThinWaist(o.LocalAddress, out var localTw, out var localIp, out var localRest)
            || observedTw.Components[1].Protocol != localTw.Components[1].Protocol
            // Another family than the connection's (NAT64, a translating proxy) is no address of ours to use.
            || observedIp.AddressFamily != localIp.AddressFamily
            || ObserverGroup(o.RemoteAddress) is not { } group)
            return false;
        var now = _settings.Clock.GetUtcNow();
        var listening = _listen.FirstOrDefault(l => ThinWaist(l, out var tw, out _, out _) && tw == localTw);
        if (listening is not null)
        {
            // The connection left from a port we listen on: the observer saw exactly what others can dial.
            Upsert(new Observation(localTw.ToString(), group, false, o.Observer, observedTw, observedTw.Encapsulate(localRest), now));
            return true;
        }
        // An ephemeral port: only the IP says something. Our listen port on that IP, as the NAT
        // would map it if it keeps ports (as Linux MASQUERADE does when it can).
        var recorded = false;
        foreach (var address in _listen)
        {
            if (!ThinWaist(address, out var tw, out var ip, out var rest) || !ip.Equals(localIp) || rest != localRest
                || tw.Components[1].Protocol != localTw.Components[1].Protocol || ip.AddressFamily != observedIp.AddressFamily)
                continue;
            var translatedTw = Multiaddr.FromIPEndPoint(new IPEndPoint(observedIp, Port(tw)), tw.Components[1].Protocol.Name);
            Upsert(new Observation(tw.ToString(), group, true, o.Observer, translatedTw, translatedTw.Encapsulate(rest), now));
            recorded = true;
        }
        return recorded;
    }

    private void Upsert(Observation observation)
    {
        _observations[(observation.LocalThinWaist, observation.Group, observation.Translated)] = observation;
        var ofGroup = _observations.Values.Where(v => v.Group == observation.Group).OrderBy(v => v.Seen).ToList();
        for (var i = 0; i < ofGroup.Count - _settings.MaxObservationsPerObserver; i++)
            Remove(ofGroup[i]);
        if (_observations.Count > _settings.MaxObservations)
            foreach (var oldest in _observations.Values.OrderBy(v => v.Seen).Take(_observations.Count - _settings.MaxObservations).ToList())
                Remove(oldest);
    }

    private void Remove(Observation o) => _observations.Remove((o.LocalThinWaist, o.Group, o.Translated));

    private void Confirm(AutoNatResult result)
    {
        if (!result.Reachable && !result.Unreachable)
            return;
        _results[result.Address] = new Result(result.Reachable, _settings.Clock.GetUtcNow(), result.Server);
        if (_results.Count > _settings.MaxResults)
            foreach (var oldest in _results.OrderBy(r => r.Value.At).Take(_results.Count - _settings.MaxResults).Select(r => r.Key).ToList())
                _results.Remove(oldest);
        Changed();
    }

    private void Prune()
    {
        var now = _settings.Clock.GetUtcNow();
        foreach (var old in _observations.Values.Where(o => now - o.Seen >= _settings.ObservationTtl).ToList())
            Remove(old);
        foreach (var old in _results.Where(r => now - r.Value.At >= _settings.ResultTtl).Select(r => r.Key).ToList())
            _results.Remove(old);
        foreach (var old in _relayed.Where(r => r.Value.Expiration <= now).Select(r => r.Key).ToList())
            _relayed.Remove(old);
    }

    /// <summary>Prunes, then publishes what changed.</summary>
    private void Changed()
    {
        Prune();
        var advertised = Advertised();
        if (!advertised.SequenceEqual(_advertised))
        {
            _advertised = advertised;
            Context.System.EventStream.Publish(new AdvertisedAddressesChanged(_local, advertised));
        }
        var (tcp, udp) = NatTypes();
        if (tcp != _tcpNat)
        {
            _tcpNat = tcp;
            Context.System.EventStream.Publish(new NatDeviceTypeChanged(_local, NATTransportProtocol.TCP, tcp));
        }
        if (udp != _udpNat)
        {
            _udpNat = udp;
            Context.System.EventStream.Publish(new NatDeviceTypeChanged(_local, NATTransportProtocol.UDP, udp));
        }
    }

    private IReadOnlyList<Multiaddr> Relayed() => [.. _relayed.Values.SelectMany(r => r.Addresses).Distinct()];

    private IReadOnlyList<Multiaddr> Addresses(bool reachable) =>
        [.. _results.Where(r => r.Value.Reachable == reachable).OrderBy(r => r.Value.At).Select(r => r.Key)];

    /// <summary>
    /// Listen addresses AutoNAT did not refute, then confirmed external addresses, then relayed ones.
    /// As go-libp2p's: when the node is Private and has relayed addresses, public direct addresses
    /// nobody confirmed are left out; private ones stay, for peers on the same network.
    /// </summary>
    private IReadOnlyList<Multiaddr> Advertised()
    {
        var relayed = Relayed();
        var hideUnconfirmedPublic = _reachability == Reachability.Private && relayed.Count > 0;
        var list = new List<Multiaddr>();
        foreach (var address in _listen)
        {
            var result = _results.GetValueOrDefault(address);
            if (result is { Reachable: false } || hideUnconfirmedPublic && IsPublic(address) && result is not { Reachable: true })
                continue;
            list.Add(address);
        }
        list.AddRange(Addresses(reachable: true));
        list.AddRange(relayed);
        return [.. list.Distinct()];
    }

    private IReadOnlyList<AddressManagerProtocol.ObservedAddress> ObservedAddresses() =>
        [.. _observations.Values.GroupBy(o => o.Address)
            .Select(g => new AddressManagerProtocol.ObservedAddress(g.Key, g.Select(o => o.Group).Distinct().Count(), g.All(o => o.Translated)))
            .OrderByDescending(a => a.Observers).ThenBy(a => a.Translated).ThenBy(a => a.Address.ToString(), StringComparer.Ordinal)];

    private IReadOnlyList<Multiaddr> HolePunchCandidates(bool includePrivate) =>
        [.. Addresses(reachable: true).Reverse()
            .Concat(ObservedAddresses().Select(o => o.Address))
            .Concat(_listen)
            .Where(a => !a.Has(MultiaddrProtocol.P2pCircuit) && (includePrivate || IsPublic(a)))
            .Distinct()
            .Take(MaxHolePunchCandidates)];

    private AddressManagerProtocol.AutoNatCandidatesAre AutoNatCandidates()
    {
        var direct = ObservedAddresses().Select(o => o.Address).Concat(_listen)
            .Where(a => !a.Has(MultiaddrProtocol.P2pCircuit) && a.TryGetIPEndPoint(out var e) && e.Port != 0 && a.Components[1].Protocol == MultiaddrProtocol.Tcp)
            .Distinct().ToList();
        // Stable sorts: within each rank the observed order (most observers first) stays.
        var ordered = direct.Where(a => !_results.ContainsKey(a)).OrderBy(a => IsPublic(a) ? 0 : 1)
            .Concat(direct.Where(_results.ContainsKey).OrderBy(a => _results[a].At))
            .Take(AutoNatV2.MaxAddresses).ToList();
        return new AddressManagerProtocol.AutoNatCandidatesAre(ordered, ordered.Count(a => !_results.ContainsKey(a)));
    }

    /// <summary>
    /// Per transport, over observations from ports we listen on: each local address's most seen
    /// external address against all its observers. Half or more on one ip:port is a cone (go-libp2p's
    /// rule); fewer observers than <see cref="AddressManagerSettings.NatTypeMinObservers"/> say nothing.
    /// </summary>
    private (NATDeviceType Tcp, NATDeviceType Udp) NatTypes()
    {
        NATDeviceType Judge(MultiaddrProtocol transport)
        {
            var byLocal = _observations.Values.Where(o => !o.Translated && o.ObservedThinWaist.Components[1].Protocol == transport).GroupBy(o => o.LocalThinWaist).ToList();
            var total = byLocal.Sum(g => g.Count());
            if (total < _settings.NatTypeMinObservers)
                return NATDeviceType.Unknown;
            var top = byLocal.Sum(g => g.GroupBy(o => o.ObservedThinWaist).Max(m => m.Count()));
            return 2 * top >= total ? NATDeviceType.Cone : NATDeviceType.Symmetric;
        }
        return (Judge(MultiaddrProtocol.Tcp), Judge(MultiaddrProtocol.Udp));
    }

    /// <summary>Not the bare <c>/p2p-circuit</c> (it says only that relayed connections are accepted) nor an unspecified IP.</summary>
    private static bool IsDialable(Multiaddr address) =>
        !(address.Components.Count == 1 && address.Has(MultiaddrProtocol.P2pCircuit))
        && !(address.TryGetIPEndPoint(out var e) && (e.Address.Equals(IPAddress.Any) || e.Address.Equals(IPAddress.IPv6Any)));

    /// <summary>Routable on the internet (AutoNAT's rule); a name (dns) is taken as public.</summary>
    private static bool IsPublic(Multiaddr address) =>
        !address.TryGetIPEndPoint(out var e) || AutoNatV2.IsPublic(e.Address);

    /// <summary>Splits <c>/ip4|ip6/…/tcp|udp/N/rest</c> into its thin waist and the rest.</summary>
    private static bool ThinWaist(Multiaddr address, out Multiaddr thinWaist, out IPAddress ip, out Multiaddr rest)
    {
        thinWaist = rest = Multiaddr.Empty;
        ip = IPAddress.None;
        if (!address.TryGetIPEndPoint(out var endPoint))
            return false;
        ip = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        thinWaist = Multiaddr.FromIPEndPoint(new IPEndPoint(ip, endPoint.Port), address.Components[1].Protocol.Name);
        rest = address.Components.Count > 2 ? Multiaddr.Parse(string.Concat(address.Components.Skip(2).Select(c => c.ToString()))) : Multiaddr.Empty;
        return true;
    }

    private static int Port(Multiaddr thinWaist) => thinWaist.TryGetIPEndPoint(out var e) ? e.Port : 0;

    /// <summary>go-libp2p's observer groups: an IPv4 address, or an IPv6 /56 (one site); null without an IP.</summary>
    private static string? ObserverGroup(Multiaddr remote)
    {
        if (!remote.TryGetIPEndPoint(out var endPoint))
            return null;
        var ip = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        if (ip.AddressFamily == AddressFamily.InterNetwork)
            return ip.ToString();
        var bytes = ip.GetAddressBytes();
        return Convert.ToHexString(bytes, 0, 7) + "/56";
    }
}
