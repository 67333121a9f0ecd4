using Akka.Actor;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Muxing.Yamux;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Tests.Resources;

public sealed class WindowGrowthSwarmTests : SwarmTestKit
{
    private const int Transfer = 8 << 20;

    /// <summary>
    /// yamux whose clock ticks once per reading: every window is drained within one measured round
    /// trip, so it grows on every grant however fast the in-memory transport is. The memory account
    /// is the one the runtime hands in for the connection.
    /// </summary>
    private static MuxerFactory EagerYamux { get; } = new(YamuxSession.ProtocolId, (dialer, memory) =>
    {
        long ticks = 0;
        return new YamuxSession(dialer, YamuxOptions.Default with { Memory = memory, Clock = () => Interlocked.Increment(ref ticks) });
    });

    private Host StartEagerHost(ResourceManager resources) =>
        StartHost("/memory/0", s => s with { Resources = resources, Muxers = [EagerYamux] });

    private static async Task<byte[]> ReadExactlyAsync(Connections.StreamHandle stream, int length)
    {
        var buffer = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = await stream.Stream.ReadAsync(buffer.AsMemory(read));
            if (n == 0)
                break;
            read += n;
        }
        return buffer[..read];
    }

    private static async Task<ScopeStat> StatOfAsync(ResourceManager resources, string scope) =>
        (await resources.SnapshotAsync()).SingleOrDefault(s => s.Scope == scope)?.Usage ?? ScopeStat.Zero;

    private async Task CloseAsync(params Host[] hosts)
    {
        foreach (var host in hosts)
            await host.Swarm.Ask<SwarmProtocol.Closed>(SwarmProtocol.Close.Instance, Patience);
    }

    [Fact]
    public async Task Window_growth_must_be_charged_to_each_connections_scope_while_it_is_open()
    {
        var serverResources = new ResourceManager();
        var clientResources = new ResourceManager();
        var server = StartEagerHost(serverResources);
        var client = StartEagerHost(clientResources);
        SetHandler(server, "/echo/1.0.0", Echo);
        var stream = await OpenAsync(client, server, "/echo/1.0.0");
        var data = RandomBytes(Transfer);

        // Both directions carry 8 MiB: the server's inbound connection and the client's outbound one grow.
        var reading = ReadExactlyAsync(stream, data.Length);
        await stream.Stream.WriteAsync(data);
        Assert.Equal(data, await reading.WaitAsync(Patience));

        // The stream is still open at both ends, so its grown windows are still reserved. A lease's
        // last top-up (or return) may still be on its way along the scopes' path when the transfer
        // ends, and each scope answers for itself: the figures agree once it arrived.
        foreach (var (resources, remote) in new[] { (serverResources, client), (clientResources, server) })
        {
            await AwaitAssertAsync(async () =>
            {
                var peer = await StatOfAsync(resources, $"peer:{remote.Peer}");
                Assert.True(peer.Memory >= 256 * 1024, "the window grew and its memory counts against the connection's peer");
                // Reserved ahead in the connection's lease, a block at a time.
                Assert.Equal(0, peer.Memory % (64 * 1024));
                // Charged only through the connection scope: transient has none, system just the same.
                Assert.Equal(peer.Memory, (await StatOfAsync(resources, "system")).Memory);
                Assert.Equal(0, (await StatOfAsync(resources, "transient")).Memory);
            }, Patience);
        }
        stream.CloseWrite();
        Assert.Empty(await ReadExactlyAsync(stream, 1).WaitAsync(Patience));
        await CloseAsync(client, server);
    }

    [Fact]
    public async Task Every_scope_must_be_back_to_zero_after_a_connection_with_a_grown_window_closes()
    {
        var serverResources = new ResourceManager();
        var clientResources = new ResourceManager();
        var server = StartEagerHost(serverResources);
        var client = StartEagerHost(clientResources);
        var received = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The handler keeps its stream open after reading everything, so the connection closes with the window grown.
        SetHandler(server, "/sink/1.0.0", Connections.StreamHandler.From(async s =>
        {
            var buffer = new byte[64 * 1024];
            long total = 0;
            while (total < Transfer && await s.Stream.ReadAsync(buffer) is var n && n > 0)
                total += n;
            received.SetResult(total);
            await letGo.Task;
        }));
        var stream = await OpenAsync(client, server, "/sink/1.0.0");
        await stream.Stream.WriteAsync(RandomBytes(Transfer));
        Assert.Equal(Transfer, await received.Task.WaitAsync(Patience));
        Assert.True((await StatOfAsync(serverResources, $"peer:{client.Peer}")).Memory > 0);

        await CloseAsync(client, server);
        letGo.SetResult();

        await ScopesAtZeroAsync(serverResources);
        await ScopesAtZeroAsync(clientResources);
    }
}
