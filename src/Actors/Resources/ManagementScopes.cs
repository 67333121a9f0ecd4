using Libp2p.Actors.Network;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Resources;

/// <summary>
/// A connection's scope (the seed's <c>ConnManagementScope</c>): it counts against the transient
/// scope until <see cref="SetPeer"/>, then against its peer's scope. An allow-listed connection
/// counts against the allow-listed transient and system scopes instead.
/// </summary>
public sealed class ConnectionManagementScope : ResourceScopeSpan
{
    private readonly Multiaddr? _endpoint;
    private readonly ConnectionLimiter.Lease? _subnets;

    internal ConnectionManagementScope(ResourceManager manager, ScopeNode node, ScopeNode[] above, Multiaddr? endpoint, bool allowlisted, ConnectionLimiter.Lease? subnets = null) : base(manager, node, above)
    {
        _endpoint = endpoint;
        _subnets = subnets;
        Allowlisted = allowlisted;
    }

    /// <summary>The peer's scope once <see cref="SetPeer"/> was called (the seed's <c>PeerScope</c>).</summary>
    public ResourceScope? PeerScope { get; private set; }

    /// <summary>Whether the connection is counted in the allow-listed scopes rather than the ordinary ones.</summary>
    public bool Allowlisted { get; private set; }

    /// <summary>Moves the connection from the transient scope to <paramref name="peer"/>'s (the seed's <c>SetPeer</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">
    /// The peer's scope cannot take the connection, or it was allow-listed for other peers only and the
    /// ordinary scopes cannot take it; it stays where it was.
    /// </exception>
    public void SetPeer(PeerId peer)
    {
        if (PeerScope is not null)
            throw new InvalidOperationException($"{Name} already belongs to {PeerScope.Name}");
        var transient = Manager.TransientNode;
        if (Allowlisted)
        {
            transient = Manager.AllowlistedTransientNode;
            if (!Manager.Allowlist.AllowedPeerAndMultiaddr(peer, _endpoint!))
            {
                // As go-libp2p: a connection that was only almost allow-listed (its address is, for
                // another peer) must not evade the ordinary scopes, so it goes back to them or is refused.
                try
                {
                    Move([Manager.AllowlistedTransientNode, Manager.AllowlistedSystemNode], [Manager.TransientNode, Manager.SystemNode]);
                }
                catch (ResourceLimitExceededException e)
                {
                    throw ResourceManager.Explained(e, $"{_endpoint} is allow-listed only for other peers than {peer}");
                }
                Allowlisted = false;
                transient = Manager.TransientNode;
                Node.Path = $"transient/{Node.Path[(Node.Path.LastIndexOf('/') + 1)..]}";
            }
        }
        var scope = Manager.Peer(peer);
        MoveInto([transient], scope);
        Node.Path = $"{scope.Name}/{Node.Path[(Node.Path.LastIndexOf('/') + 1)..]}";
        PeerScope = scope;
    }

    internal void Open(Usage usage) => Reserve(usage, ReservationPriority.Always);

    /// <summary>The connection's place in its subnets goes back with it, whatever ends it.</summary>
    private protected override void Closing() => _subnets?.Release();
}

/// <summary>
/// A stream's scope (the seed's <c>StreamManagementScope</c>): it counts against its peer and the
/// transient scope until <see cref="SetProtocol"/> moves it to its protocol's scope; a service, once
/// set, is charged too.
/// </summary>
public sealed class StreamManagementScope : ResourceScopeSpan
{
    internal StreamManagementScope(ResourceManager manager, ScopeNode node, ScopeNode[] above, ResourceScope peer) : base(manager, node, above) =>
        PeerScope = peer;

    /// <summary>The peer's scope (the seed's <c>PeerScope</c>).</summary>
    public ResourceScope PeerScope { get; }

    /// <summary>The protocol's scope once set (the seed's <c>ProtocolScope</c>).</summary>
    public ResourceScope? ProtocolScope { get; private set; }

    /// <summary>The service's scope once set (the seed's <c>ServiceScope</c>).</summary>
    public ResourceScope? ServiceScope { get; private set; }

    /// <summary>Moves the stream from the transient scope to <paramref name="protocol"/>'s (the seed's <c>SetProtocol</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">The protocol's scope cannot take the stream.</exception>
    public void SetProtocol(string protocol)
    {
        if (ProtocolScope is not null)
            throw new InvalidOperationException($"{Name} already speaks {ProtocolScope.Name}");
        var scope = Manager.Protocol(protocol);
        MoveInto([Manager.TransientNode], scope);
        ProtocolScope = scope;
    }

    /// <summary>Also charges <paramref name="service"/>'s scope (the seed's <c>SetService</c>).</summary>
    /// <exception cref="ResourceLimitExceededException">The service's scope cannot take the stream.</exception>
    public void SetService(string service)
    {
        if (ServiceScope is not null)
            throw new InvalidOperationException($"{Name} already belongs to {ServiceScope.Name}");
        var scope = Manager.Service(service);
        MoveInto([], scope);
        ServiceScope = scope;
    }

    internal void Open(Usage usage) => Reserve(usage, ReservationPriority.Always);
}

/// <summary>A named scope of the DAG root: system, transient, a service, a protocol or a peer.</summary>
public sealed class NamedScope : ResourceScope
{
    internal NamedScope(ResourceManager manager, ScopeNode node, ScopeNode[] above) : base(manager, node, above) { }
}
