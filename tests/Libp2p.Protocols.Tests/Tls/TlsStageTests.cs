using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Tls;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Tls;

/// <summary><see cref="TlsStage"/> as a BidiFlow over TCP, against .NET's own SslStream as the oracle.</summary>
public sealed class TlsStageTests : ConnectionTestKit
{
    [Fact]
    public async Task A_tls_stage_over_tcp_must_round_trip_bytes_through_an_sslstream_server()
    {
        using var server = new EchoServer();
        var data = RandomBytes(1024 * 1024 + 3);
        var received = new MemoryStream();

        var total = await Source.From(Chunks(data, 50_000)).Concat(Source.Maybe<ByteString>().MapMaterializedValue(_ => Akka.NotUsed.Instance))
            .Via(server.Client.Join(SocketTransport.Instance.Dial(Sys, server.Address, Patience)))
            .Select(bytes =>
            {
                received.Write(bytes.ToReadOnlySpan());
                return (int)received.Length;
            })
            .TakeWhile(length => length < data.Length, inclusive: true)
            .RunWith(Sink.Last<int>(), Materializer)
            .WaitAsync(Patience);

        Assert.Equal(data.Length, total);
        Assert.Equal(data, received.ToArray());
        await server.Served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_tls_stage_must_hand_up_plaintext_that_stays_intact_while_downstream_holds_it()
    {
        // ByteStrings are immutable: one pushed up must not change however long downstream keeps it.
        // Holding every chunk until the end makes a chunk whose array went back to a pool (and was
        // filled again by the next decrypt) show as corruption on every run, not once in a few.
        using var server = new EchoServer();
        var data = RandomBytes(4 * 1024 * 1024 + 7);
        var received = 0L;

        var chunks = await Source.From(Chunks(data, 7_001)).Concat(Source.Maybe<ByteString>().MapMaterializedValue(_ => Akka.NotUsed.Instance))
            .Via(server.Client.Join(SocketTransport.Instance.Dial(Sys, server.Address, Patience)))
            .TakeWhile(bytes => (received += bytes.Count) < data.Length, inclusive: true)
            .RunWith(Sink.Seq<ByteString>(), Materializer)
            .WaitAsync(Patience);

        var echoed = new MemoryStream();
        foreach (var chunk in chunks)
            echoed.Write(chunk.ToReadOnlySpan());
        Assert.Equal(data.Length, echoed.Length);
        Assert.True(data.AsSpan().SequenceEqual(echoed.ToArray()), $"the echoed bytes differ from byte {data.AsSpan().CommonPrefixLength(echoed.ToArray())}");
        await server.Served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_tls_stage_must_fail_with_the_handshake_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var served = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
            // Until the client is gone: closed with its ClientHello unread, this socket would send a
            // reset, and the transport's failure could reach the stage before the handshake's error.
            try
            {
                while (await stream.ReadAsync(new byte[4096]) > 0)
                {
                }
            }
            catch (IOException)
            {
            }
        });
        var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{((IPEndPoint)listener.LocalEndpoint).Port}");
        var stage = BidiFlow.FromGraph(new TlsStage((channel, cancel) => channel.Ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls13,
        }, cancel)));

        var run = Source.Maybe<ByteString>().Via(stage.Join(SocketTransport.Instance.Dial(Sys, address, Patience)))
            .RunWith(Sink.Ignore<ByteString>(), Materializer);

        var error = await Assert.ThrowsAsync<TlsException>(() => run.WaitAsync(Patience));
        Assert.StartsWith("tls: ", error.Message, StringComparison.Ordinal);
        await served.WaitAsync(Patience);
    }

    /// <summary>
    /// .NET's SslStream as the oracle: one TLS 1.3 server on loopback that echoes until the client
    /// closes, and a client <see cref="TlsStage"/> that takes any certificate it is shown.
    /// </summary>
    private sealed class EchoServer : IDisposable
    {
        private readonly PrivateKey _identity = PrivateKey.Generate(KeyType.Ed25519);
        private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _certificate;
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public EchoServer()
        {
            _certificate = Libp2pCertificate.Create(_identity);
            _listener.Start();
            Address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{((IPEndPoint)_listener.LocalEndpoint).Port}");
            Served = Task.Run(async () =>
            {
                using var socket = await _listener.AcceptTcpClientAsync();
                await using var tls = new SslStream(socket.GetStream());
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = _certificate,
                    EnabledSslProtocols = SslProtocols.Tls13,
                });
                await tls.CopyToAsync(tls);
            });
        }

        public Multiaddr Address { get; }

        public Task Served { get; }

        public BidiFlow<ByteString, ByteString, ByteString, ByteString, Akka.NotUsed> Client { get; } =
            BidiFlow.FromGraph(new TlsStage((channel, cancel) => channel.Ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, remote, _, _) => remote is not null,
            }, cancel)));

        public void Dispose()
        {
            _listener.Dispose();
            _certificate.Dispose();
            _identity.Dispose();
        }
    }
}
