using SwarmProtocol = Libp2p.Actors.Swarm.Swarm;

namespace Libp2p.Actors.Tests.Swarm;

public sealed class StopTests : SwarmTestKit
{
    [Fact]
    public void Stopping_one_host_must_not_touch_the_connections_of_others()
    {
        var a = StartHost();
        var b = StartHost();
        var c = StartHost();
        Dial(a, b);
        Dial(b, c);
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SwarmProtocol.Disconnected));

        Sys.Stop(a.Swarm);

        var gone = events.ExpectMsg<SwarmProtocol.Disconnected>(Patience);
        string Name(Protocols.Peer.PeerId p) => p == a.Peer ? "a" : p == b.Peer ? "b" : p == c.Peer ? "c" : "?";
        Assert.True(gone.Connection.RemotePeer == a.Peer, $"local {Name(gone.Connection.LocalPeer)} remote {Name(gone.Connection.RemotePeer)}");
        events.ExpectNoMsg(TimeSpan.FromSeconds(1));
        Assert.Single(Conns(b, c.Peer));
        Assert.Single(Conns(c, b.Peer));
        CloseAll(b, c);
    }
}
