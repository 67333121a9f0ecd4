using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

/// <summary>Counts the transport pool's arrays, so it runs while no other test uses the pool.</summary>
[Collection(nameof(TransportBuffersTests))]
public sealed class IdleConnectionBuffersTests : ConnectionTestKit
{
    [Fact]
    public async Task Idle_socket_connections_must_hold_no_array_of_the_transport_pool()
    {
        var bound = await Upgrader.Listen(Sys, Materializer, SocketTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey), (connection, _) => ServeEcho(connection)).WaitAsync(Patience);
        // Arrays that earlier tests' graphs still hold (one still stopping, a drained stream's last
        // element) are theirs: what counts is that these connections add none.
        var outBefore = ArraysOutOfThePool();
        var connections = new List<MuxedConnection>();
        var data = RandomBytes(100);
        for (var i = 0; i < 100; i++)
        {
            var dial = Upgrader.Dial(Sys, Materializer, SocketTransport.Instance, bound.Address, new UpgradeSettings(DialerKey), PeerId.FromPublicKey(ListenerKey.PublicKey));
            await dial.Connection.Upgraded.WaitAsync(Patience);
            connections.Add(dial.Connection);
            // A few exchanges, as identify and a protocol's first messages make, then nothing.
            for (var exchange = 0; exchange < 3; exchange++)
                Assert.Equal(data, await EchoAsync(dial.Connection, data));
        }

        // Every array either waits in the pool or is garbage: 200 idle sockets hold none. A
        // receive that woke for bytes another receive had already taken used to wait holding one.
        await AwaitAssertAsync(() => Assert.True(ArraysOutOfThePool() <= outBefore,
            $"{ArraysOutOfThePool()} arrays out of the pool with 200 idle sockets, {outBefore} before they opened"), Patience);

        connections.ForEach(connection => connection.Close());
        await bound.UnbindAsync();
    }

    private static int ArraysOutOfThePool()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return TransportBuffers.LiveCount - TransportBuffers.IdleCount - TransportBuffers.SpareCount;
    }
}
