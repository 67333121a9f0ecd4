using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Tls;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Tls;

/// <summary>libp2p-TLS end to end on loopback: ours with ours, and ours with a raw TLS peer that breaks the rules.</summary>
public sealed class TlsConnectionTests : ConnectionTestKit
{
    private static readonly IReadOnlyList<string> TlsOnly = [TlsHandshake.ProtocolId];

    public static TheoryData<string> Muxers => new() { "/yamux/1.0.0", "/mplex/6.7.0" };

    private static MuxerFactory Muxer(string protocol) => protocol == MuxerFactory.Yamux.Protocol ? MuxerFactory.Yamux : MuxerFactory.Mplex;

    [Theory]
    [MemberData(nameof(Muxers))]
    public async Task Tls_must_carry_echo_both_ways_over_each_muxer(string muxer)
    {
        // mplex has no flow control: on a loaded machine an echo that falls behind for the default
        // 5 s would be reset as a laggard, which is not what this test is about.
        var pair = await ConnectAsync(SocketTransport.Instance, "/ip4/127.0.0.1/tcp/0", [Muxer(muxer)],
            listenerStage: ConnectionStageSettings.Default with { LaggardGrace = TimeSpan.FromMinutes(1) }, security: TlsOnly);
        ServeEcho(pair.Listener);
        ServeEcho(pair.Dialer);

        var dialerView = await pair.Dialer.Upgraded;
        var listenerView = await pair.Listener.Upgraded;
        Assert.Equal(TlsHandshake.ProtocolId, dialerView.Security);
        Assert.Equal(muxer, dialerView.Muxer);
        Assert.Equal(PeerId.FromPublicKey(ListenerKey.PublicKey), dialerView.RemotePeer);
        Assert.Equal(PeerId.FromPublicKey(DialerKey.PublicKey), listenerView.RemotePeer);
        Assert.Equal(TlsHandshake.ProtocolId, listenerView.Security);

        var data = RandomBytes(2 * 1024 * 1024 + 17);
        Assert.Equal(data, await EchoAsync(pair.Dialer, data));
        var small = RandomBytes(100);
        Assert.Equal(small, await EchoAsync(pair.Listener, small));
        await pair.Bound.UnbindAsync();
    }

    // yamux only: mplex has no flow control, and on a loaded machine either end's echo falls behind
    // for the 5 s a laggard is given, which is another test's subject (mplex is echoed over TLS above).
    [Theory]
    [InlineData("/yamux/1.0.0")]
    public async Task Tls_must_echo_megabytes_on_concurrent_streams_both_ways_byte_for_byte(string muxer)
    {
        // 24 MiB in all, on four streams at once (three opened by the dialer, one by the listener),
        // every echoed chunk held until the end: a decrypted buffer that went back to a pool while a
        // stream still referred to it, or records reordered between the stage and the TLS thread,
        // would show as a byte that differs.
        var pair = await ConnectAsync(SocketTransport.Instance, "/ip4/127.0.0.1/tcp/0", [Muxer(muxer)], security: TlsOnly);
        ServeEcho(pair.Listener);
        ServeEcho(pair.Dialer);
        var sent = Enumerable.Range(0, 4).Select(i => RandomBytes(6 * 1024 * 1024 + i * 4099)).ToArray();

        var echoes = await Task.WhenAll(sent.Select((data, i) => EchoHoldingChunksAsync(i == 3 ? pair.Listener : pair.Dialer, data)));

        for (var i = 0; i < sent.Length; i++)
        {
            Assert.Equal(sent[i].Length, echoes[i].Length);
            Assert.True(sent[i].AsSpan().SequenceEqual(echoes[i]), $"stream {i}: the echoed bytes differ from byte {sent[i].AsSpan().CommonPrefixLength(echoes[i])}");
        }
        await pair.Bound.UnbindAsync();
    }

    [Fact]
    public async Task Alpn_must_settle_the_dialers_first_muxer_that_the_listener_supports()
    {
        var pair = await ConnectAsync(SocketTransport.Instance, "/ip4/127.0.0.1/tcp/0", [MuxerFactory.Mplex, MuxerFactory.Yamux],
            listenerMuxers: [MuxerFactory.Yamux, MuxerFactory.Mplex], security: TlsOnly);

        Assert.Equal("/mplex/6.7.0", (await pair.Dialer.Upgraded).Muxer);
        Assert.Equal("/mplex/6.7.0", (await pair.Listener.Upgraded).Muxer);
        await pair.Bound.UnbindAsync();
    }

    [Fact]
    public async Task A_dialer_preferring_tls_must_get_tls_from_a_listener_that_prefers_noise()
    {
        var pair = await ConnectAsync(SocketTransport.Instance, "/ip4/127.0.0.1/tcp/0", security: [TlsHandshake.ProtocolId, NoiseHandshake.ProtocolId],
            listenerSecurity: SecurityProtocols.Defaults);

        Assert.Equal(TlsHandshake.ProtocolId, (await pair.Dialer.Upgraded).Security);
        Assert.Equal(NoiseHandshake.ProtocolId, SecurityProtocols.Defaults[0]);
        await pair.Bound.UnbindAsync();
    }

    [Fact]
    public async Task A_client_offering_only_libp2p_in_alpn_must_get_its_muxer_through_multistream_select()
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(Sys, Materializer, SocketTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey, Security: TlsOnly), (connection, _) => accepted.Writer.TryWrite(connection)).WaitAsync(Patience);
        using var certificate = BadCertificates.Build();
        using var client = await RawTlsClient.ConnectAsync(bound.Address, SslStreamCertificateContext.Create(certificate, null, offline: true));
        Assert.Equal(TlsHandshake.Libp2pAlpn, client.Tls!.NegotiatedApplicationProtocol.ToString());

        byte[] selection = [19, .. "/multistream/1.0.0\n"u8, 13, .. "/yamux/1.0.0\n"u8];
        await client.Tls.WriteAsync(selection);
        var answer = new byte[selection.Length];
        await client.Tls.ReadExactlyAsync(answer).AsTask().WaitAsync(Patience);

        Assert.Equal(selection, answer);
        var listener = await accepted.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        var upgrade = await listener.Upgraded.WaitAsync(Patience);
        Assert.Equal("/yamux/1.0.0", upgrade.Muxer);
        Assert.Equal(PeerId.FromPublicKey(BadCertificates.Identity.PublicKey), upgrade.RemotePeer);
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task A_listener_must_require_a_client_certificate_without_naming_any_authority()
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(Sys, Materializer, SocketTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey, Security: TlsOnly), (connection, _) => accepted.Writer.TryWrite(connection)).WaitAsync(Patience);
        using var certificate = BadCertificates.Build();
        using var raw = await RawTlsClient.NegotiateAsync(bound.Address);
        await using var tls = new SslStream(raw.Socket.GetStream(), leaveInnerStreamOpen: true);
        var named = new List<string>();
        var calls = 0;

        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new SslApplicationProtocol(TlsHandshake.Libp2pAlpn)],
            ClientCertificates = [certificate],
            LocalCertificateSelectionCallback = (_, _, local, _, issuers) =>
            {
                calls++;
                named.AddRange(issuers);
                return local[0];
            },
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });

        Assert.True(calls > 0, "the client was never asked for its certificate");
        Assert.Empty(named);
        Assert.Equal(SslProtocols.Tls13, tls.SslProtocol);
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task A_dial_that_reaches_another_peer_must_fail_naming_both()
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(Sys, Materializer, SocketTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey, Security: TlsOnly), (connection, _) => accepted.Writer.TryWrite(connection)).WaitAsync(Patience);
        using var someoneElse = PrivateKey.Generate(KeyType.Ed25519);
        var expected = PeerId.FromPublicKey(someoneElse.PublicKey);

        var dial = Upgrader.Dial(Sys, Materializer, SocketTransport.Instance, bound.Address, new UpgradeSettings(DialerKey, Security: TlsOnly), expected);

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => dial.Connection.Upgraded.WaitAsync(Patience));
        Assert.Equal($"connection failed: upgrade failed: tls: dialed {expected} but the remote is {PeerId.FromPublicKey(ListenerKey.PublicKey)}", error.Message);
        await Assert.ThrowsAsync<ConnectionClosedException>(() => dial.Connection.Completion.WaitAsync(Patience));
        // The listener's side goes too. .NET's client checks the server's certificate only after it
        // sent its own Finished, so the listener may have seen a whole handshake before the close.
        var listener = await accepted.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        await listener.Completion.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(Patience);
        await bound.UnbindAsync();
    }

    public static TheoryData<string> BadClients => new()
    {
        "no certificate", "no extension", "wrong signature", "expired", "unknown critical extension", "two certificates",
    };

    [Theory]
    [MemberData(nameof(BadClients))]
    public async Task A_client_with_a_bad_certificate_must_be_refused_with_a_clear_error_and_a_closed_connection(string flaw)
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(Sys, Materializer, SocketTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey, Security: TlsOnly), (connection, _) => accepted.Writer.TryWrite(connection)).WaitAsync(Patience);
        var now = DateTimeOffset.UtcNow;
        var (chained, authorities) = BadCertificates.BuildChain();
        using var certificate = flaw switch
        {
            "no certificate" => null,
            "no extension" => BadCertificates.Build(BadExtension.None),
            "wrong signature" => BadCertificates.Build(BadExtension.WrongSignature),
            "expired" => BadCertificates.Build(notBefore: now.AddDays(-2), notAfter: now.AddDays(-1)),
            "unknown critical extension" => BadCertificates.Build(more: new X509Extension("1.2.3.4.5", [0x05, 0x00], critical: true)),
            "two certificates" => chained,
            _ => throw new ArgumentOutOfRangeException(nameof(flaw)),
        };
        var expected = flaw switch
        {
            "no certificate" => "tls: the client sent no certificate",
            "no extension" => $"tls: the certificate lacks the libp2p public key extension ({Libp2pCertificate.ExtensionOid})",
            "wrong signature" => "tls: the host key's signature over the certificate key does not verify",
            "expired" => "tls: the certificate expired at ",
            "unknown critical extension" => "tls: the certificate has a critical extension 1.2.3.4.5 we do not understand",
            _ => "tls: the remote sent 2 certificates, not exactly one",
        };

        using var client = await RawTlsClient.ConnectAsync(bound.Address, certificate is null ? null
            : SslStreamCertificateContext.Create(certificate, flaw == "two certificates" ? [.. authorities] : null, offline: true));

        var listener = await accepted.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => listener.Upgraded.WaitAsync(Patience));
        Assert.True(error.Message.StartsWith($"connection failed: upgrade failed: {expected}", StringComparison.Ordinal), error.Message);
        Assert.True(await client.ClosedByRemoteAsync().WaitAsync(Patience), "the connection stayed open");
        foreach (var authority in authorities)
            authority.Dispose();
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task A_server_with_a_bad_certificate_must_be_refused_by_the_dialer()
    {
        using var certificate = BadCertificates.Build(BadExtension.WrongSignature);
        using var server = RawTlsServer.Start(SslStreamCertificateContext.Create(certificate, null, offline: true));

        var dial = Upgrader.Dial(Sys, Materializer, SocketTransport.Instance, server.Address, new UpgradeSettings(DialerKey, Security: TlsOnly));

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => dial.Connection.Upgraded.WaitAsync(Patience));
        Assert.Equal("connection failed: upgrade failed: tls: the host key's signature over the certificate key does not verify", error.Message);
    }

    [Fact]
    public async Task A_handshake_cut_by_the_remote_must_fail_the_upgrade_as_closed()
    {
        var accepted = Channel.CreateUnbounded<MuxedConnection>();
        var bound = await Upgrader.Listen(Sys, Materializer, SocketTransport.Instance, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"),
            new UpgradeSettings(ListenerKey, Security: TlsOnly), (connection, _) => accepted.Writer.TryWrite(connection)).WaitAsync(Patience);

        using (var client = await RawTlsClient.NegotiateAsync(bound.Address))
            await client.Socket.GetStream().WriteAsync(new byte[] { 22, 3, 1, 0, 200, 1, 0 }); // half a ClientHello, then gone

        var listener = await accepted.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => listener.Upgraded.WaitAsync(Patience));
        Assert.Equal("connection failed: the remote closed the connection during the upgrade", error.Message);
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task The_client_hello_must_offer_our_muxers_then_libp2p_and_no_server_name()
    {
        var woke = new SemaphoreSlim(0);
        using var identity = PrivateKey.Generate(KeyType.Ed25519);
        using var handshake = new TlsHandshake(true, identity, null, ["/yamux/1.0.0", "/mplex/6.7.0"], () => woke.Release());
        handshake.Start();
        await woke.WaitAsync(Patience);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        handshake.Channel.DrainCiphertext(output);

        Assert.True(ClientHelloAlpn.TryRead(output.WrittenSpan, out var offered));
        Assert.Equal(["/yamux/1.0.0", "/mplex/6.7.0", "libp2p"], offered);
        Assert.False(ContainsExtension(output.WrittenSpan, 0), "the ClientHello carries a server name");
    }

    [Fact]
    public void A_client_hello_cut_short_must_not_parse()
    {
        Assert.False(ClientHelloAlpn.TryRead([22, 3, 1, 0, 200, 1, 0], out _));
        Assert.False(ClientHelloAlpn.TryRead([23, 3, 3, 0, 0], out _));
        Assert.False(ClientHelloAlpn.TryRead([], out _));
    }

    /// <summary>Whether a ClientHello record carries the extension <paramref name="type"/> (0: server_name).</summary>
    /// <summary>Like <see cref="ConnectionTestKit.EchoAsync"/>, but keeps every received ByteString until the stream ends.</summary>
    private async Task<byte[]> EchoHoldingChunksAsync(MuxedConnection connection, byte[] data)
    {
        var stream = await connection.OpenStreamAsync().WaitAsync(Patience);
        var received = stream.Source.RunWith(Sink.Seq<ByteString>(), Materializer);
        Source.From(Chunks(data, 64 * 1024)).RunWith(stream.Sink, Materializer);
        var chunks = await received.WaitAsync(TimeSpan.FromMinutes(2));
        var echoed = new MemoryStream();
        foreach (var chunk in chunks)
            echoed.Write(chunk.ToReadOnlySpan());
        return echoed.ToArray();
    }

    private static bool ContainsExtension(ReadOnlySpan<byte> record, ushort type)
    {
        var body = record[9..]; // record header (5), handshake header (4)
        body = body[34..];
        body = body[(1 + body[0])..];
        body = body[(2 + ((body[0] << 8) | body[1]))..];
        body = body[(1 + body[0])..];
        var extensions = body.Slice(2, (body[0] << 8) | body[1]);
        while (extensions.Length >= 4)
        {
            var found = (ushort)((extensions[0] << 8) | extensions[1]);
            var length = (extensions[2] << 8) | extensions[3];
            if (found == type)
                return true;
            extensions = extensions[(4 + length)..];
        }
        return false;
    }
}
