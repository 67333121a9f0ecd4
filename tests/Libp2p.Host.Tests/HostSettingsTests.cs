using Akka.Configuration;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Host.Tests;

public sealed class HostSettingsTests
{
    [Fact]
    public void The_reference_config_gives_the_documented_defaults()
    {
        var settings = HostSettings.FromConfig(Config.Empty);
        Assert.Equal([Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")], settings.ListenAddresses);
        Assert.Equal(["/yamux/1.0.0", "/mplex/6.7.0"], settings.Swarm.Muxers.Select(m => m.Protocol));
        Assert.Equal(["/noise", "/tls/1.0.0"], settings.Swarm.Security);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.DialTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), settings.Swarm.Connection.UpgradeTimeout);
        Assert.Equal("ipfs/0.1.0", settings.ProtocolVersion);
        Assert.StartsWith("libp2p-dotnet/", settings.AgentVersion, StringComparison.Ordinal);
        Assert.True(settings.Ping && settings.Echo && settings.Perf && settings.IdentifyPush);
        Assert.Equal(KeyType.Ed25519, settings.Identity.Type);
        // Port reuse (tcp.reuse-port = on) keeps the node's listen ports: a transport of its own.
        Assert.NotNull(Assert.IsType<SocketTransport>(settings.Swarm.Transports[0]).PortReuse);
        AssertTransports(settings.Swarm.Transports[0], settings.Swarm.Transports);
        var websocket = (WebSocketTransport)settings.Swarm.Transports[1];
        Assert.Equal(WebSocketSettings.Default, websocket.Settings);
        Assert.Null(websocket.Tls.ServerCertificate);
    }

    /// <summary>TCP on <paramref name="tcp"/>, WebSockets over that same engine, memory, then the relay client.</summary>
    private static void AssertTransports(ITransport tcp, IReadOnlyList<ITransport> transports)
    {
        Assert.Equal(4, transports.Count);
        Assert.Same(tcp, transports[0]);
        Assert.Same(tcp, Assert.IsType<WebSocketTransport>(transports[1]).Tcp);
        Assert.Same(MemoryTransport.Instance, transports[2]);
        Assert.IsType<Libp2p.Actors.Relay.RelayTransport>(transports[3]);
    }

    [Fact]
    public void Hocon_sets_the_websocket_limits_and_loads_the_wss_certificate()
    {
        var folder = Directory.CreateTempSubdirectory("libp2p-wss-");
        try
        {
            using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
            var file = Path.Combine(folder.FullName, "node.pfx");
            File.WriteAllBytes(file, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12, "secret"));
            var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString($$"""
                akka.libp2p.websocket {
                  max-message-size = 1 MiB
                  upgrade-timeout = 3s
                  close-timeout = 1s
                  tls { certificate = "{{file}}", password = secret }
                }
                """));
            var websocket = Assert.IsType<WebSocketTransport>(settings.Swarm.Transports[1]);
            Assert.Equal(new WebSocketSettings { MaxMessageSize = 1024 * 1024, UpgradeTimeout = TimeSpan.FromSeconds(3), CloseTimeout = TimeSpan.FromSeconds(1) }, websocket.Settings);
            Assert.Equal(certificate.Thumbprint, websocket.Tls.ServerCertificate?.Thumbprint);
            Assert.True(websocket.Tls.ServerCertificate!.HasPrivateKey);
            Assert.True(websocket.CanListen(Multiaddr.Parse("/ip4/0.0.0.0/tcp/443/wss")));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Hocon_picks_the_akka_io_tcp_engine()
    {
        var settings = HostSettings.FromConfig(ConfigurationFactory.ParseString("akka.libp2p.tcp.engine = akka-io"));
        AssertTransports(TcpTransport.Instance, settings.Swarm.Transports);
    }

    [Fact]
    public void Hocon_overrides_listen_addresses_muxers_services_and_resource_limits()
    {
        var config = ConfigurationFactory.ParseString("""
            akka.libp2p {
              listen = ["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/0"]
              muxers = ["/mplex/6.7.0"]
              security = ["/tls/1.0.0"]
              dial.timeout = 5s
              identify.agent-version = "my-app/1.0"
              services.perf = off
              resource-manager.system.streams-inbound = 7
            }
            """);
        var settings = HostSettings.FromConfig(config);
        Assert.Equal([Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/tcp/0")], settings.ListenAddresses);
        Assert.Equal(["/mplex/6.7.0"], settings.Swarm.Muxers.Select(m => m.Protocol));
        Assert.Equal(["/tls/1.0.0"], settings.Swarm.Security);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.DialTimeout);
        Assert.Equal("my-app/1.0", settings.AgentVersion);
        Assert.False(settings.Perf);
        Assert.Equal(7, settings.Swarm.Resources.Limits.System.StreamsInbound);
    }

    [Fact]
    public void A_key_file_is_created_once_and_loaded_after()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-settings-");
        try
        {
            var path = Path.Combine(folder.FullName, "node.key");
            var config = ConfigurationFactory.ParseString($"akka.libp2p.identity {{ key-file = \"{path}\", type = secp256k1 }}");
            var first = HostSettings.FromConfig(config);
            var second = HostSettings.FromConfig(config);
            Assert.Equal(KeyType.Secp256k1, first.Identity.Type);
            Assert.Equal(first.Identity.PublicKey.ToProtobuf(), second.Identity.PublicKey.ToProtobuf());
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("akka.libp2p.listen = [\"/ip4/1.2.3\"]", "akka.libp2p.listen: '/ip4/1.2.3' is not a multiaddr")]
    [InlineData("akka.libp2p.muxers = [\"/spdy/3.1.0\"]", "akka.libp2p.muxers: '/spdy/3.1.0' is not one of /yamux/1.0.0, /mplex/6.7.0")]
    [InlineData("akka.libp2p.security = [\"/secio/1.0.0\"]", "akka.libp2p.security: a list of distinct protocols among /noise, /tls/1.0.0, not [/secio/1.0.0]")]
    [InlineData("akka.libp2p.security = []", "akka.libp2p.security: a list of distinct protocols among /noise, /tls/1.0.0, not []")]
    [InlineData("akka.libp2p.security = [\"/noise\", \"/noise\"]", "akka.libp2p.security: a list of distinct protocols among /noise, /tls/1.0.0, not [/noise, /noise]")]
    [InlineData("akka.libp2p.identity.type = dsa", "akka.libp2p.identity.type: 'dsa' is not one of ed25519, secp256k1, ecdsa, rsa")]
    [InlineData("akka.libp2p.tcp.engine = netty", "akka.libp2p.tcp.engine: 'netty' is not one of socket, akka-io")]
    [InlineData("akka.libp2p.dial.parallelism = 0", "akka.libp2p.dial.parallelism must be positive, not 0")]
    [InlineData("akka.libp2p.websocket.max-message-size = 10", "akka.libp2p.websocket.max-message-size must be between 1 KiB and 2 GiB, not 10")]
    [InlineData("akka.libp2p.websocket.upgrade-timeout = 0s", "akka.libp2p.websocket.upgrade-timeout must be positive, not 00:00:00")]
    [InlineData("akka.libp2p.websocket.tls.certificate = \"/nonexistent/node.pfx\"", null)]
    [InlineData("akka.libp2p.resource-manager.allowlist.addresses = [\"/ip4/1.2.3\"]", null)]
    [InlineData("akka.libp2p.resource-manager.connections-per-subnet.ipv4 = [{ prefix = 33, conns = 8 }]", "akka.libp2p.resource-manager: connections-per-subnet.ipv4: prefix 33 is not between 0 and 32")]
    [InlineData("akka.libp2p.resource-manager.connections-per-subnet.networks = [{ network = \"/dns4/example.com\", conns = 8 }]", "akka.libp2p.resource-manager: network /dns4/example.com has no /ip4 or /ip6 address")]
    public void A_bad_value_is_named_in_the_error(string hocon, string? message)
    {
        var error = Assert.Throws<ConfigurationException>(() => HostSettings.FromConfig(ConfigurationFactory.ParseString(hocon)));
        if (message is null)
            Assert.Matches("^akka.libp2p.(resource-manager: |websocket.tls.certificate: cannot load '/nonexistent/node.pfx': )", error.Message);
        else
            Assert.Equal(message, error.Message);
    }
}
