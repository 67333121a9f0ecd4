using System.Net;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Swarm;

/// <summary>The stage of a connection at which a <see cref="IConnectionGater"/> is asked.</summary>
public enum GaterHook
{
    /// <summary>Before a peer is dialed at all.</summary>
    InterceptPeerDial,

    /// <summary>Before one of a peer's addresses is dialed.</summary>
    InterceptAddrDial,

    /// <summary>An inbound connection was accepted, nothing read from it yet.</summary>
    InterceptAccept,

    /// <summary>The remote peer is authenticated (the connection is secured and muxed; see docs/swarm.md).</summary>
    InterceptSecured,

    /// <summary>The connection is up and counted against its peer, before the Swarm takes it.</summary>
    InterceptUpgraded,
}

/// <summary>A gater's answer: allowed, or refused with a reason the dialer and the log will show.</summary>
public readonly record struct GateVerdict(string? Refusal)
{
    /// <summary>The connection may go on.</summary>
    public static GateVerdict Allow => default;

    /// <summary>The connection is refused because of <paramref name="reason"/>.</summary>
    public static GateVerdict Deny(string reason) => new(reason ?? "refused");

    /// <summary>Whether the connection may go on.</summary>
    public bool Allowed => Refusal is null;
}

/// <summary>
/// Vetoes peers and addresses at each stage of a connection (go-libp2p's <c>ConnectionGater</c>),
/// with a reason. Called on the actor of the dial or the connection: it must answer at once,
/// without blocking, and from any thread.
/// </summary>
public interface IConnectionGater
{
    /// <summary>Before <paramref name="peer"/> is dialed.</summary>
    GateVerdict InterceptPeerDial(PeerId peer);

    /// <summary>Before <paramref name="peer"/> is dialed at <paramref name="address"/>.</summary>
    GateVerdict InterceptAddrDial(PeerId peer, Multiaddr address);

    /// <summary>An inbound connection from <paramref name="remoteAddress"/> was accepted on <paramref name="localAddress"/>.</summary>
    GateVerdict InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress);

    /// <summary>The connection with <paramref name="peer"/> is authenticated.</summary>
    GateVerdict InterceptSecured(Direction direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress);

    /// <summary>The connection is up, before the Swarm takes it.</summary>
    GateVerdict InterceptUpgraded(ConnectionInfo connection);
}

/// <summary>
/// The gater HOCON describes (<c>akka.libp2p.gater</c>): peers and networks (<c>/ip4/10.0.0.0/ipcidr/8</c>,
/// or a single <c>/ip6/::1</c>) denied, and, when an allow list is not empty, only those allowed.
/// A deny entry wins over an allow entry. Peers are checked before a dial and once the remote is
/// authenticated; addresses before each dial and on accept.
/// </summary>
public sealed class ConfiguredConnectionGater : IConnectionGater
{
    private readonly HashSet<PeerId> _denyPeers;
    private readonly HashSet<PeerId> _allowPeers;
    private readonly IReadOnlyList<(Multiaddr Entry, IPNetwork Network)> _denyAddresses;
    private readonly IReadOnlyList<(Multiaddr Entry, IPNetwork Network)> _allowAddresses;

    /// <summary>A gater of these lists; an empty allow list allows all not denied.</summary>
    /// <exception cref="FormatException">An address entry has no <c>/ip4</c> or <c>/ip6</c>, or a bad <c>/ipcidr</c>.</exception>
    public ConfiguredConnectionGater(IEnumerable<PeerId>? denyPeers = null, IEnumerable<Multiaddr>? denyAddresses = null,
        IEnumerable<PeerId>? allowPeers = null, IEnumerable<Multiaddr>? allowAddresses = null)
    {
        _denyPeers = [.. denyPeers ?? []];
        _allowPeers = [.. allowPeers ?? []];
        _denyAddresses = [.. (denyAddresses ?? []).Select(a => (a, Allowlist.Network(a, "gater deny-addresses entry")))];
        _allowAddresses = [.. (allowAddresses ?? []).Select(a => (a, Allowlist.Network(a, "gater allow-addresses entry")))];
    }

    /// <inheritdoc />
    public GateVerdict InterceptPeerDial(PeerId peer) => Peer(peer);

    /// <inheritdoc />
    public GateVerdict InterceptAddrDial(PeerId peer, Multiaddr address) => Address(address);

    /// <inheritdoc />
    public GateVerdict InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress) => Address(remoteAddress);

    /// <inheritdoc />
    public GateVerdict InterceptSecured(Direction direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress) => Peer(peer);

    /// <inheritdoc />
    public GateVerdict InterceptUpgraded(ConnectionInfo connection) => GateVerdict.Allow;

    private GateVerdict Peer(PeerId peer)
    {
        if (_denyPeers.Contains(peer))
            return GateVerdict.Deny($"peer {peer} is in gater.deny-peers");
        if (_allowPeers.Count > 0 && !_allowPeers.Contains(peer))
            return GateVerdict.Deny($"peer {peer} is not in gater.allow-peers");
        return GateVerdict.Allow;
    }

    private GateVerdict Address(Multiaddr address)
    {
        var ip = Allowlist.IpOf(address);
        if (ip is null)
            return _allowAddresses.Count > 0 ? GateVerdict.Deny($"{address} has no IP address, and gater.allow-addresses is not empty") : GateVerdict.Allow;
        foreach (var (entry, network) in _denyAddresses)
        {
            if (network.Contains(ip))
                return GateVerdict.Deny($"{address} is in {entry} of gater.deny-addresses");
        }
        if (_allowAddresses.Count > 0 && !_allowAddresses.Any(a => a.Network.Contains(ip)))
            return GateVerdict.Deny($"{address} is in no network of gater.allow-addresses");
        return GateVerdict.Allow;
    }
}
