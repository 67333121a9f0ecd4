using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Transport.WebSockets;

/// <summary><c>/tls/ws</c> and <c>/wss</c> with a certificate the user supplies (here a self-signed one for localhost).</summary>
public sealed class SecureWebSocketTests : ConnectionTestKit
{
    private readonly X509Certificate2 _certificate = SelfSigned();

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12, so the key is one SslStream can use on Linux.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private WebSocketTransport Trusting() => new(tls: new WebSocketTlsOptions
    {
        ServerCertificate = _certificate,
        ValidateServer = (_, certificate, _, _) => certificate?.GetCertHashString() == _certificate.GetCertHashString(),
    });

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/0/tls/ws")]
    [InlineData("/ip4/127.0.0.1/tcp/0/wss")]
    public async Task Ours_must_upgrade_with_noise_and_yamux_over_a_secure_WebSocket(string listenOn)
    {
        var pair = await ConnectAsync(Trusting(), listenOn, [MuxerFactory.Yamux]);
        Assert.EndsWith(listenOn[listenOn.LastIndexOf("/tcp/0", StringComparison.Ordinal)..].Replace("/tcp/0", "", StringComparison.Ordinal), pair.Bound.Address.ToString(), StringComparison.Ordinal);
        ServeEcho(pair.Listener);
        var data = RandomBytes(2 * 1024 * 1024);
        Assert.Equal(data, await EchoAsync(pair.Dialer, data));
        pair.Dialer.Close();
        await pair.Listener.Completion.WaitAsync(Patience);
        await pair.Bound.UnbindAsync();
    }

    [Fact]
    public async Task ClientWebSocket_must_reach_our_listener_over_wss()
    {
        var bound = await Trusting().Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0/tls/ws"))
            .To(Sink.ForEach<InboundConnection>(c => c.Flow.Join(Flow.Create<ByteString>()).Run(Materializer)))
            .Run(Materializer).WaitAsync(Patience);
        using var client = new ClientWebSocket();
        client.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == _certificate.GetCertHashString();
        await client.ConnectAsync(new Uri($"wss://localhost:{bound.Address.ValueFor("tcp")}/"), CancellationToken.None).WaitAsync(Patience);
        await client.SendAsync("hello over tls"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        var buffer = new byte[64];
        var result = await client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Patience);
        Assert.Equal("hello over tls", System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count));
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).WaitAsync(Patience);
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task A_dial_must_refuse_a_server_certificate_the_system_does_not_trust()
    {
        var bound = await Trusting().Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0/tls/ws"))
            .To(Sink.ForEach<InboundConnection>(c => c.Flow.Join(Flow.Create<ByteString>()).Run(Materializer)))
            .Run(Materializer).WaitAsync(Patience);
        var dial = Upgrader.Dial(Sys, Materializer, WebSocketTransport.Instance, bound.Address, new UpgradeSettings(DialerKey));

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => dial.Connection.Upgraded.WaitAsync(Patience));
        var cause = Assert.IsType<AuthenticationException>(error.InnerException);
        Assert.StartsWith("wss client: the TLS handshake failed: ", cause.Message, StringComparison.Ordinal);
        await bound.UnbindAsync();
    }

    protected override void Dispose(bool disposing)
    {
        _certificate.Dispose();
        base.Dispose(disposing);
    }
}
