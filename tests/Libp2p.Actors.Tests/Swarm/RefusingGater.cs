using Libp2p.Actors.Network;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>A gater that refuses at one hook only, with <see cref="Reason"/>, and allows everything else.</summary>
internal sealed class RefusingGater(GaterHook refuseAt, string? reason = null) : IConnectionGater
{
    public string Reason => reason ?? $"test refuses at {refuseAt}";

    private GateVerdict At(GaterHook hook) => hook == refuseAt ? GateVerdict.Deny(Reason) : GateVerdict.Allow;

    public GateVerdict InterceptPeerDial(PeerId peer) => At(GaterHook.InterceptPeerDial);

    public GateVerdict InterceptAddrDial(PeerId peer, Multiaddr address) => At(GaterHook.InterceptAddrDial);

    public GateVerdict InterceptAccept(Multiaddr localAddress, Multiaddr remoteAddress) => At(GaterHook.InterceptAccept);

    public GateVerdict InterceptSecured(Direction direction, PeerId peer, Multiaddr localAddress, Multiaddr remoteAddress) => At(GaterHook.InterceptSecured);

    public GateVerdict InterceptUpgraded(ConnectionInfo connection) => At(GaterHook.InterceptUpgraded);
}
