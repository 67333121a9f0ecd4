using Akka.Actor;
using Akka.Hosting;
using Libp2p.Protocols.Multiformats;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Libp2p.Host.Tests;

public sealed class HostingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_generic_host_runs_a_node_another_node_dials_it_and_the_host_stops_cleanly()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddAkka("hosted", akka => akka
            .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
            .WithLibp2p(o => o.Listen = ["/ip4/127.0.0.1/tcp/0"]));
        using var app = builder.Build();
        await app.StartAsync().WaitAsync(Patience);

        var system = app.Services.GetRequiredService<ActorSystem>();
        // WithLibp2p selects the scheduler that costs nothing while idle.
        Assert.IsType<TimerScheduler>(system.Scheduler);
        // And gives Akka.IO a whole Noise frame per system call, for the akka-io engine.
        Assert.Null(AkkaIoSettings.Advice(system.Settings.Config));
        var node = Libp2pHost.Get(system);
        var registry = app.Services.GetRequiredService<ActorRegistry>();
        Assert.Equal(node.Actor, registry.Get<Libp2pHost>());
        await node.Started.WaitAsync(Patience);
        var address = (await node.AddressesAsync())[0];

        using var other = ActorSystem.Create("dialer", "akka.loglevel = WARNING");
        var dialer = await Libp2pHost.StartAsync(other, HostTestKitSettings()).WaitAsync(Patience);
        var connection = await dialer.ConnectAsync(address).WaitAsync(Patience);
        Assert.Equal(node.PeerId, connection.RemotePeer);
        Assert.Single(await dialer.PingAsync(node.PeerId, 1).WaitAsync(Patience));

        await app.StopAsync().WaitAsync(Patience);

        await node.Stopped.WaitAsync(Patience);
        await system.WhenTerminated.WaitAsync(Patience);
        await dialer.StopAsync().WaitAsync(Patience);
    }

    private static HostSettings HostTestKitSettings() =>
        new(Protocols.Crypto.PrivateKey.Generate(Protocols.Crypto.KeyType.Ed25519)) { ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] };
}
