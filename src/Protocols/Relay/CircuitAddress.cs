using System.Diagnostics.CodeAnalysis;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Protocols.Relay;

/// <summary>
/// A relayed address, <c>[relay transport address]/p2p/&lt;relay&gt;/p2p-circuit[/p2p/&lt;target&gt;]</c>,
/// taken apart: how to reach the relay, who the relay is, and whom the circuit leads to.
/// </summary>
/// <param name="RelayAddress">How to reach the relay, without its <c>/p2p</c>; empty when only its peer ID is given (then the peerstore or a live connection is used).</param>
/// <param name="Relay">The relay.</param>
/// <param name="Target">The peer at the far end, when the address names it.</param>
public sealed record CircuitAddress(Multiaddr RelayAddress, PeerId Relay, PeerId? Target)
{
    /// <summary>The address: the relay's, <c>/p2p-circuit</c>, and the target's <c>/p2p</c> when known.</summary>
    public Multiaddr ToMultiaddr()
    {
        var relayed = RelayAddress.Encapsulate($"/p2p/{Relay}/p2p-circuit");
        return Target is null ? relayed : relayed.Encapsulate($"/p2p/{Target}");
    }

    /// <summary>The address with <paramref name="target"/> as its far end.</summary>
    public CircuitAddress WithTarget(PeerId target) => this with { Target = target };

    /// <summary>
    /// Takes a relayed address apart. Refuses addresses relayed twice (a circuit over a circuit,
    /// which the spec tells relays not to serve), with no relay peer before <c>/p2p-circuit</c>, or
    /// with anything but a <c>/p2p</c> after it.
    /// </summary>
    public static bool TryParse(Multiaddr address, [NotNullWhen(true)] out CircuitAddress? circuit)
    {
        ArgumentNullException.ThrowIfNull(address);
        circuit = null;
        var components = address.Components;
        var at = -1;
        for (var i = 0; i < components.Count; i++)
        {
            if (components[i].Protocol != MultiaddrProtocol.P2pCircuit)
                continue;
            if (at >= 0)
                return false;
            at = i;
        }
        if (at < 1 || components[at - 1].Protocol != MultiaddrProtocol.P2p || !PeerId.TryParse(components[at - 1].Value, out var relay))
            return false;
        PeerId? target = null;
        var after = components.Count - at - 1;
        if (after == 1)
        {
            if (components[at + 1].Protocol != MultiaddrProtocol.P2p || !PeerId.TryParse(components[at + 1].Value, out target))
                return false;
        }
        else if (after != 0)
        {
            return false;
        }
        var relayAddress = address.Decapsulate("p2p-circuit").Decapsulate("p2p");
        circuit = new CircuitAddress(relayAddress, relay, target);
        return true;
    }
}
