using Libp2p.Protocols.Relay;

namespace Libp2p.Actors.Resources;

/// <summary>
/// The resource-manager services of the bundled protocols, named as go-libp2p names them, so a
/// limits configuration written for go names the same scopes here. Each protocol's handler and
/// client attach their streams with <c>StreamHandle.Scope.SetServiceAsync</c>.
/// </summary>
public static class ServiceNames
{
    /// <summary>Identify and identify push.</summary>
    public const string Identify = "libp2p.identify";

    /// <summary>Ping.</summary>
    public const string Ping = "libp2p.ping";

    /// <summary>DCUtR hole punching.</summary>
    public const string HolePunch = "libp2p.holepunch";

    /// <summary>Circuit relay v2, hop and stop, on the relay and its clients.</summary>
    public const string Relay = CircuitRelay.ServiceName;
}
