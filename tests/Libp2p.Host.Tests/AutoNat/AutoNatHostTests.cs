using Akka.Configuration;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Network;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Crypto;

namespace Libp2p.Host.Tests.AutoNat;

/// <summary>Hosts on loopback serving AutoNAT v2, and one checking itself against them until its verdict is Public.</summary>
public sealed class AutoNatHostTests : HostTestKit
{
    [Fact]
    public async Task Three_servers_that_dial_back_must_make_a_host_Public_and_publish_it()
    {
        var servers = new List<Libp2pHost>();
        for (var i = 0; i < 3; i++)
            servers.Add(await StartAsync(s => s with { AutoNatService = AutoNatServerSettings.Default with { AllowPrivateAddresses = true } }));
        var client = await StartAsync();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(ReachabilityChanged));
        var own = await client.AddressesAsync();

        foreach (var server in servers)
        {
            await client.ConnectAsync(await AddressOfAsync(server)).WaitAsync(Patience);
            var result = await client.CheckReachabilityAsync(server.PeerId).WaitAsync(Patience);
            Assert.Equal((DialStatus.Ok, own[0]), (result.Status, result.Address));
        }

        Assert.Equal(new ReachabilityChanged(client.PeerId, Reachability.Public), events.ExpectMsg<ReachabilityChanged>(Patience));
        Assert.Equal(Reachability.Public, await client.ReachabilityAsync());
        foreach (var host in servers.Append(client))
            await host.StopAsync().WaitAsync(Patience);
    }

    [Fact]
    public void The_autonat_keys_must_read_from_HOCON()
    {
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString("""
            akka.libp2p.autonat { service = on, allow-private-addresses = on, requests-per-peer-per-minute = 2, dial-data = 50000, dial-back-timeout = 3s }
            """), PrivateKey.Generate(KeyType.Ed25519));

        Assert.True(settings.AutoNatClient);
        Assert.Equal((true, 2, 60, 50_000, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30)),
            (settings.AutoNatService!.AllowPrivateAddresses, settings.AutoNatService.RequestsPerPeerPerMinute, settings.AutoNatService.RequestsPerMinute,
             settings.AutoNatService.DialDataBytes, settings.AutoNatService.DialBackTimeout, settings.AutoNatService.StreamTimeout));
        var defaults = HostSettings.FromConfig(ConfigurationFactory.Empty, PrivateKey.Generate(KeyType.Ed25519));
        Assert.Null(defaults.AutoNatService);
        Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.autonat { service = on, dial-data = 1000 }"), PrivateKey.Generate(KeyType.Ed25519)));
        Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.autonat { service = on, dial-back-timeout = 30s }"), PrivateKey.Generate(KeyType.Ed25519)));
    }

    [Fact]
    public async Task A_host_without_the_client_must_say_so()
    {
        var host = await StartAsync(s => s with { AutoNatClient = false });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ReachabilityAsync());

        Assert.Contains("autonat.client = off", error.Message);
        await host.StopAsync().WaitAsync(Patience);
    }
}
