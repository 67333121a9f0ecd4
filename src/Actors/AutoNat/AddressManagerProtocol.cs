using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.AutoNat;

/// <summary>The vocabulary of the <see cref="AddressManagerActor"/>.</summary>
public static class AddressManagerProtocol
{
    /// <summary>This node's listen addresses changed (interface-expanded, as the Swarm gives them with <c>ExpandInterfaces</c>).</summary>
    public sealed record ListenAddressesChanged(IReadOnlyList<Multiaddr> Addresses);

    /// <summary>
    /// A peer told us (in identify) at which address it sees us, on the connection between
    /// <paramref name="LocalAddress"/> and <paramref name="RemoteAddress"/>.
    /// </summary>
    /// <param name="Observer">The peer that reported it.</param>
    /// <param name="LocalAddress">The connection's local address: which of our thin-waist addresses (ip/tcp|udp/port) was seen.</param>
    /// <param name="RemoteAddress">The connection's remote address: the observer's group is its IP (IPv6: its /56).</param>
    /// <param name="ObservedAddress">Our address as the observer sees it.</param>
    public sealed record Observed(PeerId Observer, Multiaddr LocalAddress, Multiaddr RemoteAddress, Multiaddr ObservedAddress);

    /// <summary>An AutoNAT v2 result: <see cref="AutoNatResult.Reachable"/> confirms the address, <see cref="AutoNatResult.Unreachable"/> refutes it, others say nothing.</summary>
    public sealed record Checked(AutoNatResult Result);

    /// <summary>Asks what identify should advertise; answered with <see cref="AdvertisedAddressesAre"/>.</summary>
    public sealed record GetAdvertisedAddresses
    {
        /// <summary>The message.</summary>
        public static GetAdvertisedAddresses Instance { get; } = new();
    }

    /// <summary>What this node advertises: listen addresses not refuted, confirmed external addresses, and relayed addresses.</summary>
    public sealed record AdvertisedAddressesAre(IReadOnlyList<Multiaddr> Addresses);

    /// <summary>Asks for the addresses a hole punch should try; answered with <see cref="HolePunchCandidatesAre"/>.</summary>
    /// <param name="IncludePrivate">Also private and loopback ones (a LAN, tests); off, only addresses public on the internet.</param>
    public sealed record GetHolePunchCandidates(bool IncludePrivate = false);

    /// <summary>Direct (not relayed) addresses, best first: confirmed, then observed by most observers, then listen addresses. Refuted ones stay: behind a NAT the observed address is what a hole punch opens.</summary>
    public sealed record HolePunchCandidatesAre(IReadOnlyList<Multiaddr> Addresses);

    /// <summary>Asks for the addresses AutoNAT should check; answered with <see cref="AutoNatCandidatesAre"/>.</summary>
    public sealed record GetAutoNatCandidates
    {
        /// <summary>The message.</summary>
        public static GetAutoNatCandidates Instance { get; } = new();
    }

    /// <summary>Direct TCP addresses for an AutoNAT request, in the order a server should consider them: unchecked before checked (oldest result first), public before private.</summary>
    /// <param name="Addresses">At most <see cref="Libp2p.Protocols.AutoNat.AutoNatV2.MaxAddresses"/>.</param>
    /// <param name="Unchecked">How many of them have no AutoNAT result yet.</param>
    public sealed record AutoNatCandidatesAre(IReadOnlyList<Multiaddr> Addresses, int Unchecked);

    /// <summary>Asks for everything the manager knows; answered with <see cref="StateIs"/>.</summary>
    public sealed record GetState
    {
        /// <summary>The message.</summary>
        public static GetState Instance { get; } = new();
    }

    /// <summary>An observed address and how many observer groups see it now.</summary>
    /// <param name="Address">Our address as they see it (or, for a connection from a port we do not listen on, the observed IP with our listen port).</param>
    /// <param name="Observers">Distinct observer groups.</param>
    /// <param name="Translated">Seen on a connection from a port we do not listen on: only the IP was observed.</param>
    public sealed record ObservedAddress(Multiaddr Address, int Observers, bool Translated);

    /// <summary>Everything the manager knows about this node's addresses.</summary>
    public sealed record StateIs(
        IReadOnlyList<Multiaddr> Listen,
        IReadOnlyList<ObservedAddress> Observed,
        IReadOnlyList<Multiaddr> Confirmed,
        IReadOnlyList<Multiaddr> Unreachable,
        IReadOnlyList<Multiaddr> Relayed,
        IReadOnlyList<Multiaddr> Advertised,
        NATDeviceType TcpNatType,
        NATDeviceType UdpNatType,
        Reachability Reachability,
        int Observations);

    /// <summary>
    /// The hole-punch candidate source the DCUtR service takes: each call asks
    /// <paramref name="addressManager"/> within <paramref name="timeout"/>. Public addresses only,
    /// unless <paramref name="includePrivate"/>; with <paramref name="fallBackToPrivate"/>, when there
    /// is no public one, the private ones, and loopback ones only when there is nothing else (a peer
    /// that dialed our loopback address would reach itself), as a node on a LAN or in tests needs.
    /// </summary>
    public static Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> HolePunchCandidateSource(IActorRef addressManager, TimeSpan timeout, bool includePrivate = false, bool fallBackToPrivate = false)
    {
        ArgumentNullException.ThrowIfNull(addressManager);
        async Task<IReadOnlyList<Multiaddr>> AskAsync(bool withPrivate, CancellationToken cancellationToken) =>
            (await addressManager.Ask<HolePunchCandidatesAre>(new GetHolePunchCandidates(withPrivate), timeout, cancellationToken).ConfigureAwait(false)).Addresses;
        return async cancellationToken =>
        {
            var candidates = await AskAsync(includePrivate, cancellationToken).ConfigureAwait(false);
            if (candidates.Count > 0 || includePrivate || !fallBackToPrivate)
                return candidates;
            var all = await AskAsync(true, cancellationToken).ConfigureAwait(false);
            static bool IsLoopback(Multiaddr a) => a.TryGetIPEndPoint(out var e) && System.Net.IPAddress.IsLoopback(e.Address);
            var notLoopback = all.Where(a => !IsLoopback(a)).ToList();
            return notLoopback.Count > 0 ? notLoopback : all;
        };
    }
}

/// <summary>Published when what this node advertises changed; identify pushes it to connected peers.</summary>
public sealed record AdvertisedAddressesChanged(PeerId LocalPeer, IReadOnlyList<Multiaddr> Addresses);

/// <summary>Published when the NAT type judged from observed addresses changed for a transport (the seed's <c>EvtNATDeviceTypeChanged</c>).</summary>
public sealed record NatDeviceTypeChanged(PeerId LocalPeer, NATTransportProtocol Transport, NATDeviceType NatDeviceType);
