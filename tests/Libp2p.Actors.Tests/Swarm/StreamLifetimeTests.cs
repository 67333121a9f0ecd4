using Akka.Actor;
using Libp2p.Actors.Resources;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>Streams that end are released at once, while their connection lives on.</summary>
public sealed class StreamLifetimeTests : SwarmTestKit
{
    [Fact]
    public async Task The_2000th_sequential_echo_on_one_connection_must_work_and_leave_no_stream_behind()
    {
        var serverResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var clientResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var server = StartHost(configure: s => s with { Resources = serverResources });
        var client = StartHost(configure: s => s with { Resources = clientResources });
        SetHandler(server, "/echo/1.0.0", Echo);
        var payload = "hello"u8.ToArray();

        for (var i = 0; i < 2000; i++)
        {
            var stream = await OpenAsync(client, server, "/echo/1.0.0");
            Assert.Equal(payload, await EchoThroughAsync(stream, payload));
            stream.Close();
            await stream.Completion.WaitAsync(Patience);
        }

        Assert.Single(Conns(client));
        // Both sides forgot every stream while the connection stays open.
        await AwaitAssertAsync(() =>
        {
            Assert.Equal(0, serverResources.ViewTransient(s => s.Stat().NumStreamsInbound + s.Stat().NumStreamsOutbound));
            var system = serverResources.ViewSystem(s => s.Stat());
            Assert.Equal((0, 0, 1), (system.NumStreamsInbound, system.NumStreamsOutbound, system.NumConnsInbound));
            var clientSystem = clientResources.ViewSystem(s => s.Stat());
            Assert.Equal((0, 0, 1), (clientSystem.NumStreamsInbound, clientSystem.NumStreamsOutbound, clientSystem.NumConnsOutbound));
        }, Patience);
        var stats = await Conns(server)[0].Actor!.Ask<Libp2p.Actors.Connections.Conn.StatsAre>(Libp2p.Actors.Connections.Conn.GetStats.Instance, Patience);
        Assert.Equal(0, stats.NumStreams);
        CloseAll(client, server);
    }
}
