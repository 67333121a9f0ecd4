using Akka.Actor;
using Akka.Configuration;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Network;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;

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
        // On-demand checks only: a periodic one to the same server at once would be rejected (one request per peer at a time).
        var client = await StartAsync(s => s with { AutoNatProbe = null });
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(ReachabilityChanged));
        var own = await client.AddressesAsync();

        foreach (var server in servers)
        {
            await client.ConnectAsync(await AddressOfAsync(server)).WaitAsync(Patience);
            var result = await client.CheckReachabilityAsync(server.PeerId).WaitAsync(Patience);
            // The address manager's candidates: our listen address, without our /p2p/.
            Assert.Equal((DialStatus.Ok, own[0].Decapsulate("p2p")), (result.Status, result.Address));
        }

        Assert.Equal(new ReachabilityChanged(client.PeerId, Reachability.Public), events.ExpectMsg<ReachabilityChanged>(Patience));
        Assert.Equal(Reachability.Public, await client.ReachabilityAsync());
        foreach (var host in servers.Append(client))
            await host.StopAsync().WaitAsync(Patience);
    }

    [Fact]
    public async Task Periodic_AutoNAT_must_make_a_host_Public_once_it_connects_to_a_server_and_confirm_its_address()
    {
        var server = await StartAsync(s => s with { AutoNatService = AutoNatServerSettings.Default with { AllowPrivateAddresses = true } });
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(ReachabilityChanged));
        // One server in this test: its answer alone decides.
        var client = await StartAsync(s => s with { ReachabilityWindow = 1, ReachabilityThreshold = 1 });
        var own = (await client.AddressesAsync()).Select(a => a.Decapsulate("p2p")).ToArray();

        await client.ConnectAsync(await AddressOfAsync(server)).WaitAsync(Patience);

        try
        {
            events.FishForMessage<ReachabilityChanged>(c => c.LocalPeer == client.PeerId && c.Reachability == Reachability.Public, Patience);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var prober = (await client.Actor.Ask<HostActor.AutoNatIs>(HostActor.GetAutoNat.Instance, Patience)).Prober!;
            var probed = await prober.Ask<AutoNatProbeProtocol.ProbeStateIs>(AutoNatProbeProtocol.GetProbeState.Instance, Patience);
            throw new InvalidOperationException($"not Public: {probed.Checks} checks, {probed.Failures} failures, servers [{string.Join(", ", probed.Servers)}], backoff [{string.Join(", ", probed.Backoff)}], last failure {probed.LastFailure}", e);
        }
        // The verdict comes from the tracker; the address manager hears of the verdict and of the
        // result that led to it separately, and may do so a moment after it was published.
        await AwaitAssertAsync(async () =>
        {
            var state = await client.AddressStateAsync();
            Assert.Equal(Reachability.Public, state.Reachability);
            Assert.Contains(state.Confirmed, own.Contains);
            Assert.Equal(own, state.Advertised);
        }, Patience);
        // The hole-punch candidate source as a DCUtR service takes it: public addresses only, none on loopback.
        Func<CancellationToken, Task<IReadOnlyList<Multiaddr>>> candidates = client.HolePunchCandidatesAsync;
        Assert.Empty(await candidates(CancellationToken.None));
        Assert.Equal(own, await client.HolePunchCandidatesAsync(includePrivate: true));
        // The server had nobody to ask (the client serves no AutoNAT): it stays Unknown.
        Assert.Equal(Reachability.Unknown, await server.ReachabilityAsync());
        foreach (var host in new[] { server, client })
            await host.StopAsync().WaitAsync(Patience);
    }

    [Fact]
    public async Task Identify_must_advertise_the_address_managers_addresses_and_push_them_when_a_reservation_adds_a_relayed_one()
    {
        HostSettings WithRelayClient(HostSettings s) => s with { Swarm = s.Swarm with { Transports = [.. s.Swarm.Transports, new Libp2p.Actors.Relay.RelayTransport(Libp2p.Protocols.Peer.PeerId.FromPublicKey(s.Identity.PublicKey))] } };
        var (a, b) = (await StartAsync(WithRelayClient), await StartAsync());
        var relay = await StartAsync(s => s with { RelayService = Libp2p.Actors.Relay.RelayServiceSettings.Default });
        var identified = CreateTestProbe();
        Sys.EventStream.Subscribe(identified.Ref, typeof(Libp2p.Host.Services.IdentifyService.PeerIdentified));
        await a.ConnectAsync(await AddressOfAsync(b)).WaitAsync(Patience);
        var first = identified.FishForMessage<Libp2p.Host.Services.IdentifyService.PeerIdentified>(p => p.LocalPeer == b.PeerId && p.Result.Peer == a.PeerId, Patience);
        Assert.Equal((await a.AddressStateAsync()).Advertised, first.Result.ListenAddresses);

        var reservation = await a.ReserveAsync(await AddressOfAsync(relay)).WaitAsync(Patience);

        var relayed = reservation.Addresses.Single();
        var pushed = identified.FishForMessage<Libp2p.Host.Services.IdentifyService.PeerIdentified>(
            p => p.LocalPeer == b.PeerId && p.Push && p.Result.Peer == a.PeerId && p.Result.ListenAddresses.Contains(relayed), Patience);
        var state = await a.AddressStateAsync();
        Assert.Equal(state.Advertised, pushed.Result.ListenAddresses);
        Assert.Equal([relayed], state.Relayed);
        foreach (var host in new[] { a, b, relay })
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
    public void The_probe_reachability_and_address_manager_keys_must_read_from_HOCON()
    {
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString("""
            akka.libp2p.autonat {
              probe-first-delay = 0s, probe-retry-interval = 2s, probe-interval = 5m, probe-server-backoff = 30s, probe-check-timeout = 20s
              reachability-window = 1, reachability-threshold = 1
              observed-address-ttl = 10m, max-observed-addresses = 32, max-observed-addresses-per-observer = 2, nat-type-min-observers = 6, result-ttl = 20m
            }
            """), PrivateKey.Generate(KeyType.Ed25519));

        var probe = settings.AutoNatProbe!;
        Assert.Equal((TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20), 1),
            (probe.FirstDelay, probe.RetryInterval, probe.Interval, probe.ServerBackoff, probe.CheckTimeout, probe.Confidence));
        Assert.Equal((1, 1), (settings.ReachabilityWindow, settings.ReachabilityThreshold));
        var addresses = settings.AddressManager;
        Assert.Equal((TimeSpan.FromMinutes(10), 32, 2, 6, TimeSpan.FromMinutes(20)),
            (addresses.ObservationTtl, addresses.MaxObservations, addresses.MaxObservationsPerObserver, addresses.NatTypeMinObservers, addresses.ResultTtl));
        var defaults = HostSettings.FromConfig(ConfigurationFactory.Empty, PrivateKey.Generate(KeyType.Ed25519));
        Assert.Equal((5, 3, TimeSpan.FromMinutes(15)), (defaults.ReachabilityWindow, defaults.ReachabilityThreshold, defaults.AutoNatProbe!.Interval));
        Assert.Null(HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.autonat.probe = off"), PrivateKey.Generate(KeyType.Ed25519)).AutoNatProbe);
        var minority = Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.autonat { reachability-window = 4, reachability-threshold = 2 }"), PrivateKey.Generate(KeyType.Ed25519)));
        Assert.Contains("majority", minority.Message);
        Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.autonat { probe-interval = 1s, probe-retry-interval = 5s }"), PrivateKey.Generate(KeyType.Ed25519)));
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
