using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Tls;
using Libp2p.Protocols.Transport;
using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Interop;

/// <summary>Noise and TLS, each with yamux and with mplex, over TCP and over WebSockets, against js-libp2p 3, both ways: we dial it, it dials us.</summary>
[Trait("Category", "Interop")]
public sealed class JsInteropTests : ConnectionTestKit
{
    private const string Ping = "/ipfs/ping/1.0.0";
    private const string Echo = "/echo/1.0.0";

    public static TheoryData<string, string, string> Cells => new()
    {
        { "tcp", "yamux", "noise" }, { "tcp", "mplex", "noise" }, { "tcp", "yamux", "tls" }, { "tcp", "mplex", "tls" },
        // The same over the Akka.IO engine: js sees plain TCP either way.
        { "tcp-akka-io", "yamux", "noise" }, { "tcp-akka-io", "mplex", "noise" }, { "tcp-akka-io", "yamux", "tls" }, { "tcp-akka-io", "mplex", "tls" },
        { "ws", "yamux", "noise" }, { "ws", "mplex", "noise" }, { "ws", "yamux", "tls" }, { "ws", "mplex", "tls" },
    };

    private static ITransport Transport(string transport) => transport switch
    {
        "ws" => WebSocketTransport.Instance,
        "tcp-akka-io" => TcpTransport.Instance,
        _ => SocketTransport.Instance,
    };

    /// <summary>What the js peer is told: our engine is ours to choose.</summary>
    private static string JsTransport(string transport) => transport == "ws" ? "ws" : "tcp";

    private static IReadOnlyList<MuxerFactory> Only(string muxer) => muxer == "yamux" ? [MuxerFactory.Yamux] : [MuxerFactory.Mplex];

    private static IReadOnlyList<string> OnlySecurity(string security) => security == "tls" ? [TlsHandshake.ProtocolId] : [NoiseHandshake.ProtocolId];

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task We_must_dial_js_and_ping_and_echo(string transport, string muxer, string security)
    {
        await using var js = await JsPeer.ListenAsync(muxer, JsTransport(transport), security);
        var address = Multiaddr.Parse(js.Address);
        var expected = PeerId.Parse(address.PeerIdText!);

        Assert.Equal(transport == "ws", address.Has("ws"));
        var dial = Upgrader.Dial(Sys, Materializer, Transport(transport), address.Decapsulate("p2p"), new UpgradeSettings(DialerKey, Only(muxer), Security: OnlySecurity(security)), expected);
        var upgrade = await dial.Connection.Upgraded.WaitAsync(Patience);
        Assert.Equal(expected, upgrade.RemotePeer);
        Assert.Equal(muxer == "yamux" ? "/yamux/1.0.0" : "/mplex/6.7.0", upgrade.Muxer);
        Assert.Equal(OnlySecurity(security)[0], upgrade.Security);

        // Ping: 32 random bytes come back unchanged, three times on one stream.
        await using (var ping = (await dial.Connection.OpenStreamAsync().WaitAsync(Patience)).AsStream())
        {
            Assert.Equal(Ping, await MultistreamSelect.SelectOneOfAsync(ping, [Ping]).WaitAsync(Patience));
            for (var i = 0; i < 3; i++)
            {
                var payload = RandomNumberGenerator.GetBytes(32);
                await ping.WriteAsync(payload);
                var pong = new byte[32];
                await ping.ReadExactlyAsync(pong).AsTask().WaitAsync(Patience);
                Assert.Equal(payload, pong);
            }
        }

        // Echo: 1 MiB on a stream to the js echo protocol.
        var data = RandomBytes(1024 * 1024);
        await using var echo = (await dial.Connection.OpenStreamAsync().WaitAsync(Patience)).AsStream();
        Assert.Equal(Echo, await MultistreamSelect.SelectOneOfAsync(echo, [Echo]).WaitAsync(Patience));
        var reading = ReadToEndAsync(echo);
        await echo.WriteAsync(data);
        echo.CloseWrite();
        var echoed = await reading.WaitAsync(Patience);
        Assert.True(data.SequenceEqual(echoed), "the echo from js differs");
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task Js_must_dial_us_and_ping_and_echo(string transport, string muxer, string security)
    {
        var bound = await Upgrader.Listen(Sys, Materializer, Transport(transport), Multiaddr.Parse(transport == "ws" ? "/ip4/127.0.0.1/tcp/0/ws" : "/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey, Only(muxer), Security: OnlySecurity(security)), (connection, _) => Serve(connection)).WaitAsync(Patience);
        var address = $"{bound.Address}/p2p/{PeerId.FromPublicKey(ListenerKey.PublicKey)}";

        var (pingExit, pingOutput) = await JsPeer.DialAsync(address, muxer, "ping", "--count", "3", "--security", security);
        Assert.True(pingExit == 0, string.Join('\n', pingOutput));
        Assert.Equal(3, pingOutput.Count(l => l.StartsWith("PING ", StringComparison.Ordinal)));

        var (echoExit, echoOutput) = await JsPeer.DialAsync(address, muxer, "echo", "--bytes", $"{1024 * 1024}", "--security", security);
        Assert.True(echoExit == 0, string.Join('\n', echoOutput));
        Assert.Contains(echoOutput, l => l.StartsWith($"ECHO {1024 * 1024} ok", StringComparison.Ordinal));
    }

    /// <summary>A self-signed certificate for 127.0.0.1, written as PEM files (certificate, key) into <paramref name="folder"/>.</summary>
    private static X509Certificate2 LoopbackCertificate(string folder, out string certificateFile, out string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        // Its own authority, so a client told to trust it (NODE_EXTRA_CA_CERTS) accepts it as the root of its chain.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        certificateFile = Path.Combine(folder, "cert.pem");
        keyFile = Path.Combine(folder, "key.pem");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    [Fact]
    public async Task Js_must_dial_us_over_tls_ws_and_echo()
    {
        var folder = Directory.CreateTempSubdirectory("libp2p-wss-");
        try
        {
            using var certificate = LoopbackCertificate(folder.FullName, out var certificateFile, out _);
            var transport = new WebSocketTransport(tls: new WebSocketTlsOptions { ServerCertificate = certificate });
            var bound = await Upgrader.Listen(Sys, Materializer, transport, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0/tls/ws"),
                new UpgradeSettings(ListenerKey, Only("yamux")), (connection, _) => Serve(connection)).WaitAsync(Patience);
            var address = $"{bound.Address}/p2p/{PeerId.FromPublicKey(ListenerKey.PublicKey)}";
            Assert.Contains("/tls/ws/p2p/", address, StringComparison.Ordinal);

            // js checks our certificate for real: trusted through NODE_EXTRA_CA_CERTS, valid for 127.0.0.1.
            var (exit, output) = await JsPeer.DialAsync(address, "yamux", new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = certificateFile },
                "echo", "--bytes", $"{1024 * 1024}");
            Assert.True(exit == 0, string.Join('\n', output));
            Assert.Contains(output, l => l.StartsWith($"ECHO {1024 * 1024} ok", StringComparison.Ordinal));
            await bound.UnbindAsync();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task We_must_dial_js_over_tls_ws_and_echo()
    {
        var folder = Directory.CreateTempSubdirectory("libp2p-wss-");
        try
        {
            using var certificate = LoopbackCertificate(folder.FullName, out var certificateFile, out var keyFile);
            await using var js = await JsPeer.ListenAsync("yamux", "wss", "noise", "--cert", certificateFile, "--key", keyFile);
            var address = Multiaddr.Parse(js.Address);
            Assert.True(address.Has("tls") && address.Has("ws"), js.Address);
            var thumbprint = certificate.GetCertHashString();
            var transport = new WebSocketTransport(tls: new WebSocketTlsOptions { ValidateServer = (_, c, _, _) => c?.GetCertHashString() == thumbprint });

            var dial = Upgrader.Dial(Sys, Materializer, transport, address.Decapsulate("p2p"), new UpgradeSettings(DialerKey, Only("yamux")), PeerId.Parse(address.PeerIdText!));
            await dial.Connection.Upgraded.WaitAsync(Patience);
            var data = RandomBytes(1024 * 1024);
            await using var echo = (await dial.Connection.OpenStreamAsync().WaitAsync(Patience)).AsStream();
            Assert.Equal(Echo, await MultistreamSelect.SelectOneOfAsync(echo, [Echo]).WaitAsync(Patience));
            var reading = ReadToEndAsync(echo);
            await echo.WriteAsync(data);
            echo.CloseWrite();
            var echoed = await reading.WaitAsync(Patience);
            Assert.True(data.AsSpan().SequenceEqual(echoed), "the echo from js over wss differs");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Answers /ipfs/ping/1.0.0 and /echo/1.0.0: both send back what they read.</summary>
    private void Serve(MuxedConnection connection) => _ = Task.Run(async () =>
    {
        await foreach (var stream in connection.InboundStreams.ReadAllAsync())
        {
            _ = Task.Run(async () =>
            {
                await using var io = stream.AsStream();
                try
                {
                    await MultistreamSelect.HandleAsync(io, [Ping, Echo]);
                    await io.CopyToAsync(io, 64 * 1024);
                }
                catch (Exception e) when (e is IOException or MultistreamException or EndOfStreamException)
                {
                    stream.Reset();
                }
            });
        }
    });

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        return all.ToArray();
    }
}
