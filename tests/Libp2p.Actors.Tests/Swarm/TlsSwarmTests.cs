using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tls;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>Swarms over libp2p-TLS: connections made and refused, and every resource scope back to zero after.</summary>
public sealed class TlsSwarmTests : SwarmTestKit
{
    private static readonly IReadOnlyList<string> TlsOnly = [TlsHandshake.ProtocolId];

    [Fact]
    public async Task Two_swarms_speaking_only_tls_must_connect_echo_and_return_every_scope_to_zero()
    {
        var serverResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var clientResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var server = StartHost(configure: s => s with { Security = TlsOnly, Resources = serverResources });
        var client = StartHost(configure: s => s with { Security = TlsOnly, Resources = clientResources });
        SetHandler(server, "/echo/1.0.0", Echo);

        var dialed = Dial(client, server);
        var stream = await OpenAsync(client, server, "/echo/1.0.0");
        var data = RandomBytes(256 * 1024);

        Assert.Equal(TlsHandshake.ProtocolId, dialed.Connection.Security);
        Assert.Equal(data, await EchoThroughAsync(stream, data));
        CloseAll(client, server);
        await ScopesAtZeroAsync(serverResources);
        await ScopesAtZeroAsync(clientResources);
    }

    [Fact]
    public void A_swarm_on_the_defaults_must_reach_a_tls_only_swarm_over_tls()
    {
        var server = StartHost(configure: s => s with { Security = TlsOnly });
        var client = StartHost();

        var dialed = Dial(client, server);

        Assert.Equal(TlsHandshake.ProtocolId, dialed.Connection.Security);
        Assert.Equal(["/noise", "/tls/1.0.0"], new SwarmSettings(client.Key).Security);
        CloseAll(client, server);
    }

    [Fact]
    public async Task A_tls_dial_that_reaches_another_peer_must_name_both_and_return_every_scope_to_zero()
    {
        var serverResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var clientResources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var server = StartHost(configure: s => s with { Security = TlsOnly, Resources = serverResources });
        var client = StartHost("", s => s with { Security = TlsOnly, Resources = clientResources });
        using var other = PrivateKey.Generate(KeyType.Ed25519);
        var expected = PeerId.FromPublicKey(other.PublicKey);

        var failed = await client.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(expected, DialOptions.Default, server.Addresses), Patience);

        var error = Assert.IsType<DialException>(failed.Reason);
        var (_, attempt) = Assert.Single(error.Attempts);
        Assert.IsType<ConnectionClosedException>(attempt);
        Assert.IsType<TlsException>(attempt.GetBaseException());
        Assert.EndsWith($"tls: dialed {expected} but the remote is {server.Peer}", error.Message, StringComparison.Ordinal);
        await ScopesAtZeroAsync(clientResources);
        // The server saw a connection that its dialer then cut: it lets go of it too.
        await ScopesAtZeroAsync(serverResources);
        CloseAll(client, server);
    }

    public static TheoryData<string> BadClients => new() { "no certificate", "no extension", "expired", "not yet valid" };

    [Theory]
    [MemberData(nameof(BadClients))]
    public async Task A_client_with_a_bad_certificate_must_be_cut_and_leave_every_scope_at_zero(string flaw)
    {
        var resources = new ResourceManager(ResourceLimitDefaults.Scaled());
        var server = StartHost(configure: s => s with { Security = TlsOnly, Resources = resources });
        using var identity = PrivateKey.Generate(KeyType.Ed25519);
        var now = DateTimeOffset.UtcNow;
        using var certificate = flaw switch
        {
            "no certificate" => null,
            "no extension" => WithoutExtension(),
            // Made a century and a year ago: expired a year ago.
            "expired" => Libp2pCertificate.Create(identity, now.AddYears(-101)),
            // Made for tomorrow: valid from an hour before that.
            "not yet valid" => Libp2pCertificate.Create(identity, now.AddDays(1)),
            _ => throw new ArgumentOutOfRangeException(nameof(flaw)),
        };
        var port = int.Parse(server.Addresses[0].ValueFor("tcp")!, System.Globalization.CultureInfo.InvariantCulture);
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var raw = socket.GetStream();
        byte[] selection = [19, .. "/multistream/1.0.0\n"u8, 11, .. "/tls/1.0.0\n"u8];
        await raw.WriteAsync(selection);
        var answer = new byte[selection.Length];
        await raw.ReadExactlyAsync(answer);
        Assert.Equal(selection, answer);

        await using var tls = new SslStream(raw);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new SslApplicationProtocol("libp2p")],
            ClientCertificateContext = certificate is null ? null : SslStreamCertificateContext.Create(certificate, null, offline: true),
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });

        // TLS 1.3 lets the client finish before the server looked at it: the server then cuts it.
        Assert.True(await ReadUntilCutAsync(tls).WaitAsync(Patience));
        await ScopesAtZeroAsync(resources);
        Assert.Empty(Conns(server));
        CloseAll(server);
    }

    private static X509Certificate2 WithoutExtension()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=no-extension", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static async Task<bool> ReadUntilCutAsync(Stream stream)
    {
        var buffer = new byte[64];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
        }
        return true;
    }
}
