using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Network;

/// <summary>No usable connection to the peer, and dialing was not allowed (the seed's <c>ErrNoConn</c>).</summary>
public sealed class NoConnectionException(PeerId peer, string reason)
    : Exception($"no usable connection to peer {peer}: {reason}")
{
    /// <summary>The peer.</summary>
    public PeerId Peer { get; } = peer;
}

/// <summary>There is no address to dial the peer at (the seed's <c>ErrNoRemoteAddrs</c>).</summary>
public sealed class NoRemoteAddressesException(PeerId peer) : Exception($"no remote addresses for peer {peer}")
{
    /// <summary>The peer.</summary>
    public PeerId Peer { get; } = peer;
}

/// <summary>Only a transient connection exists and the caller did not allow one (the seed's <c>ErrTransientConn</c>).</summary>
public sealed class TransientConnectionException(PeerId peer)
    : Exception($"transient connection to peer {peer}: only a limited (relayed) connection exists, and the stream did not opt in with UseTransient")
{
    /// <summary>The peer.</summary>
    public PeerId Peer { get; } = peer;
}

/// <summary>A dial failed; <see cref="Attempts"/> says why for each address tried.</summary>
public sealed class DialException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DialException(PeerId peer, string reason, IReadOnlyList<(Multiaddr Address, Exception Error)>? attempts = null, Exception? inner = null)
        : base(Describe(peer, reason, attempts ?? []), inner)
    {
        Peer = peer;
        Attempts = attempts ?? [];
    }

    /// <summary>The peer dialed.</summary>
    public PeerId Peer { get; }

    /// <summary>Each address tried and what went wrong there.</summary>
    public IReadOnlyList<(Multiaddr Address, Exception Error)> Attempts { get; }

    private static string Describe(PeerId peer, string reason, IReadOnlyList<(Multiaddr Address, Exception Error)> attempts) =>
        attempts.Count == 0
            ? $"failed to dial {peer}: {reason}"
            : $"failed to dial {peer}: {reason}: " + string.Join("; ", attempts.Select(a => $"{a.Address}: {a.Error.Message}"));
}

/// <summary>
/// The resource manager refused a reservation (the seed's <c>ErrResourceLimitExceeded</c>); it may
/// succeed later. Unlike go-libp2p's, it says exactly why: which scope, which resource, how much
/// was asked, how much is in use and what the limit is.
/// </summary>
public sealed class ResourceLimitExceededException(string scope, string resource, long asked, long current, long limit, string? detail)
    : Exception($"resource limit exceeded: {scope}: {resource}: asked {asked}, in use {current}, limit {limit}" + (detail is null ? "" : $" ({detail})"))
{
    /// <summary>Always true: the condition is temporary, as the seed's error says.</summary>
    public bool Temporary => true;

    /// <summary>The refusing scope's path in the DAG, e.g. <c>peer:12D3…</c> or <c>system</c>.</summary>
    public string Scope { get; } = scope;

    /// <summary>The resource, e.g. <c>memory</c> or <c>inbound streams</c>.</summary>
    public string Resource { get; } = resource;

    /// <summary>How much was asked.</summary>
    public long Asked { get; } = asked;

    /// <summary>How much the scope had in use.</summary>
    public long Current { get; } = current;

    /// <summary>The scope's limit.</summary>
    public long Limit { get; } = limit;
}

/// <summary>The resource scope was already closed (the seed's <c>ErrResourceScopeClosed</c>).</summary>
public sealed class ResourceScopeClosedException(string scope) : Exception($"resource scope closed: {scope}")
{
    /// <summary>The scope's name.</summary>
    public string Scope { get; } = scope;
}

/// <summary>
/// Addresses were given but no transport of this node can dial any of them (go-libp2p's
/// <c>ErrNoTransport</c>): a QUIC address to a node without QUIC, say.
/// </summary>
public sealed class NoTransportException(PeerId peer, IReadOnlyList<Multiaddr> addresses)
    : Exception($"no transport for {string.Join(", ", addresses)}")
{
    /// <summary>The peer.</summary>
    public PeerId Peer { get; } = peer;

    /// <summary>The addresses no transport can dial.</summary>
    public IReadOnlyList<Multiaddr> Addresses { get; } = addresses;
}

/// <summary>
/// This node's connection gater refused a connection: <see cref="Hook"/> names the stage, and
/// <see cref="Reason"/> is the gater's own words (go-libp2p only says the dial was gated).
/// </summary>
public sealed class ConnectionGatedException(Libp2p.Actors.Swarm.GaterHook hook, string reason, PeerId? peer, Multiaddr? address)
    : Exception($"gated by {hook}: {reason}")
{
    /// <summary>The gater's hook that refused, e.g. <c>InterceptSecured</c>.</summary>
    public Libp2p.Actors.Swarm.GaterHook Hook { get; } = hook;

    /// <summary>Why, as the gater put it.</summary>
    public string Reason { get; } = reason;

    /// <summary>The peer, when known at that stage.</summary>
    public PeerId? Peer { get; } = peer;

    /// <summary>The remote address, when known at that stage.</summary>
    public Multiaddr? Address { get; } = address;
}
