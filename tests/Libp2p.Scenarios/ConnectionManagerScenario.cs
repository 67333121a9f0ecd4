using System.Diagnostics;
using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Scenarios;

/// <summary>
/// What the connection manager costs a connection's set-up between two Swarms: dial, a stream
/// echoing one byte, in sequence; the listener with the default manager (96/128) or none. Each
/// connection is closed, and gone, before the next: only the set-up is timed.
/// </summary>
internal static class ConnectionManagerScenario
{
    public static async Task<(double P50, double P99)> SetupAsync(ActorSystem system, int count, bool managed)
    {
        using var serverKey = PrivateKey.Generate(KeyType.Ed25519);
        using var clientKey = PrivateKey.Generate(KeyType.Ed25519);
        var serverSettings = new SwarmSettings(serverKey) { Resources = new ResourceManager(ResourceLimitDefaults.Scaled()) };
        if (managed)
            serverSettings = serverSettings with { ConnectionManager = ConnectionManagerSettings.Default };
        var server = new NetworkClient(system.ActorOf(SwarmActor.Props(serverSettings)), PeerId.FromPublicKey(serverKey.PublicKey));
        var client = new NetworkClient(system.ActorOf(SwarmActor.Props(new SwarmSettings(clientKey) { Resources = new ResourceManager(ResourceLimitDefaults.Scaled()) })),
            PeerId.FromPublicKey(clientKey.PublicKey));
        var bound = await server.ListenAsync([Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")]);
        await server.SetStreamHandlerAsync("/echo/1.0.0", async s => await s.Stream.CopyToAsync(s.Stream));
        var times = new List<double>(count);
        var one = new byte[1];
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            await client.DialPeerAsync(server.LocalPeer, addresses: bound);
            var stream = await client.NewStreamAsync(server.LocalPeer, ["/echo/1.0.0"]);
            await stream.Stream.WriteAsync(one);
            await stream.Stream.ReadExactlyAsync(one);
            times.Add(watch.Elapsed.TotalMilliseconds);
            stream.CloseWrite();
            await client.ClosePeerAsync(server.LocalPeer);
            // Untimed: the next dial must make a new connection, not find this one closing.
            while ((await client.ConnsAsync(server.LocalPeer)).Count > 0 || (await server.ConnsAsync()).Count > 0)
                await Task.Delay(1);
        }
        await client.CloseAsync();
        await server.CloseAsync();
        times.Sort();
        return (times[count / 2], times[Math.Min(count - 1, count * 99 / 100)]);
    }
}
