using Akka.Configuration;
using Libp2p.Actors.Network;
using Libp2p.Actors.Relay;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Host.Tests.Relay;

/// <summary>Three hosts on loopback: one serves as a relay, one reserves on it, one pings and identifies the second through it.</summary>
public sealed class RelayHostTests : HostTestKit
{
    // Without hole punching: these tests are about the relayed connection, which a punch on loopback would replace.
    private static HostSettings WithRelayClient(HostSettings settings) =>
        settings with { HolePunching = null, Swarm = settings.Swarm with { Transports = [.. settings.Swarm.Transports, new RelayTransport(PeerId.FromPublicKey(settings.Identity.PublicKey))] } };

    [Fact]
    public async Task A_host_must_ping_and_identify_another_through_a_relay_host()
    {
        var relay = await StartAsync(s => s with { RelayService = RelayServiceSettings.Default });
        var listener = await StartAsync(WithRelayClient);
        var dialer = await StartAsync(WithRelayClient);

        var reservation = await listener.ReserveAsync(await AddressOfAsync(relay)).WaitAsync(Patience);
        var circuit = reservation.Addresses[0].Encapsulate($"/p2p/{listener.PeerId}");
        var connection = await dialer.ConnectAsync(circuit).WaitAsync(Patience);
        var rtts = await dialer.PingAsync(listener.PeerId, 3).WaitAsync(Patience);
        var identified = await dialer.IdentifyAsync(listener.PeerId).WaitAsync(Patience);

        Assert.True(connection.Stat.Transient);
        Assert.Equal(3, rtts.Count);
        Assert.Equal(listener.PeerId, identified.Peer);
        // Listening on /p2p-circuit is not an address anyone can dial: identify leaves the bare one out,
        // and advertises the reservation's relayed address instead (the address manager).
        Assert.DoesNotContain(Multiaddr.Parse("/p2p-circuit"), identified.ListenAddresses);
        Assert.Contains(reservation.Addresses[0], identified.ListenAddresses);
        Assert.Contains(identified.ListenAddresses, a => !a.Has(MultiaddrProtocol.P2pCircuit));
        Assert.Contains(Multiaddr.Parse("/p2p-circuit"), await listener.Network.ListenAddressesAsync());
        // Echo does not opt in to limited connections: refused with the seed's ErrTransientConn.
        await Assert.ThrowsAsync<TransientConnectionException>(() => dialer.EchoAsync(listener.PeerId, new byte[16]).WaitAsync(Patience));
        foreach (var host in new[] { dialer, listener, relay })
            await host.StopAsync().WaitAsync(Patience);
    }

    [Fact]
    public void The_relay_keys_must_read_from_HOCON()
    {
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString("""
            akka.libp2p.relay { service = on, max-reservations = 3, circuit-duration = 10s, circuit-data = 1MiB, reservation-ttl = 5m }
            """), PrivateKey.Generate(KeyType.Ed25519));

        Assert.Equal(3, settings.RelayService!.MaxReservations);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.RelayService.CircuitDuration);
        Assert.Equal(1024 * 1024, settings.RelayService.CircuitData);
        Assert.Equal(TimeSpan.FromMinutes(5), settings.RelayService.ReservationTtl);
        Assert.Single(settings.Swarm.Transports.OfType<RelayTransport>());
        var defaults = HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.relay.client = off"), PrivateKey.Generate(KeyType.Ed25519));
        Assert.Null(defaults.RelayService);
        Assert.Empty(defaults.Swarm.Transports.OfType<RelayTransport>());
        Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.relay { service = on, max-reservations = 0 }"), PrivateKey.Generate(KeyType.Ed25519)));
    }
}
