using Akka.Configuration;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Host.Tests;

public sealed class ConnectionManagerSettingsTests
{
    [Fact]
    public void The_reference_config_runs_a_connection_manager_at_96_128_and_no_gater()
    {
        var settings = HostSettings.FromConfig(Config.Empty);

        Assert.Equal(new ConnectionManagerSettings(96, 128), settings.Swarm.ConnectionManager);
        Assert.Null(settings.Swarm.Gater);
        // Whatever this machine's scaled limits, the defaults fit under them.
        Assert.Null(settings.Swarm.ConnectionManager!.Conflict(settings.Swarm.Resources.Limits));
    }

    [Fact]
    public void Hocon_sets_the_watermarks_and_periods_or_turns_the_manager_off()
    {
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString("""
            akka.libp2p.connection-manager { low-water = 10, high-water = 20, grace-period = 30s, silence-period = 5s, decay-resolution = 10s }
            """));
        Assert.Equal(new ConnectionManagerSettings(10, 20) { GracePeriod = TimeSpan.FromSeconds(30), SilencePeriod = TimeSpan.FromSeconds(5), DecayResolution = TimeSpan.FromSeconds(10) },
            settings.Swarm.ConnectionManager);

        Assert.Null(HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.connection-manager.enabled = off")).Swarm.ConnectionManager);
    }

    [Fact]
    public void A_high_watermark_above_the_resource_managers_connection_limit_is_a_configuration_error_naming_both()
    {
        var error = Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("""
            akka.libp2p.connection-manager { low-water = 300, high-water = 500 }
            akka.libp2p.resource-manager.system.conns = 400
            """)));

        Assert.StartsWith("akka.libp2p.connection-manager high-water 500 exceeds the resource manager's system connection limit 400", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_built_in_code_with_conflicting_watermarks_is_refused_before_it_starts()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.resource-manager.system.conns = 100\nakka.libp2p.connection-manager.enabled = off"), key);
        settings = settings with { Swarm = settings.Swarm with { ConnectionManager = new ConnectionManagerSettings(50, 150) } };
        using var system = Akka.Actor.ActorSystem.Create("conflict", "akka.loglevel = WARNING");

        var error = Assert.Throws<ArgumentException>(() => Libp2pHost.StartAsync(system, settings).GetAwaiter().GetResult());

        Assert.StartsWith("connection-manager high-water 150 exceeds the resource manager's system connection limit 100", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hocon_lists_make_a_gater_and_bad_entries_are_configuration_errors()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        var peer = PeerId.FromPublicKey(key.PublicKey);
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString($$"""
            akka.libp2p.gater { deny-peers = ["{{peer}}"], deny-addresses = ["/ip4/10.0.0.0/ipcidr/8"] }
            """));

        var gater = Assert.IsType<ConfiguredConnectionGater>(settings.Swarm.Gater);
        Assert.False(gater.InterceptPeerDial(peer).Allowed);
        Assert.False(gater.InterceptAddrDial(peer, Multiaddr.Parse("/ip4/10.9.9.9/tcp/1")).Allowed);

        var badPeer = Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.gater.allow-peers = [nobody]")));
        Assert.Equal("akka.libp2p.gater.allow-peers: 'nobody' is not a peer ID", badPeer.Message);
        var badNetwork = Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString("""akka.libp2p.gater.deny-addresses = ["/dns4/example.com"]""")));
        Assert.Equal("akka.libp2p.gater: gater deny-addresses entry /dns4/example.com has no /ip4 or /ip6 address", badNetwork.Message);
    }
}
