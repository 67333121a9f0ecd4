using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tls;

namespace Libp2p.Protocols.Tests.Tls;

/// <summary>The multistream-select exchange that picks <c>/tls/1.0.0</c>, written by hand.</summary>
internal static class TlsSelection
{
    public static byte[] Messages { get; } = [.. Message("/multistream/1.0.0"), .. Message(TlsHandshake.ProtocolId)];

    private static byte[] Message(string text) => [(byte)(text.Length + 1), .. System.Text.Encoding.ASCII.GetBytes(text + "\n")];
}

/// <summary>A TLS client that is no libp2p node: it selects /tls/1.0.0 and presents whatever certificate a test gives it.</summary>
internal sealed class RawTlsClient : IDisposable
{
    private RawTlsClient(TcpClient socket, SslStream? tls)
    {
        Socket = socket;
        Tls = tls;
    }

    public TcpClient Socket { get; }

    public SslStream? Tls { get; }

    /// <summary>Connects and selects /tls/1.0.0, nothing more.</summary>
    public static async Task<RawTlsClient> NegotiateAsync(Multiaddr address)
    {
        var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, int.Parse(address.ValueFor("tcp")!, System.Globalization.CultureInfo.InvariantCulture));
        var stream = socket.GetStream();
        await stream.WriteAsync(TlsSelection.Messages);
        var answer = new byte[TlsSelection.Messages.Length];
        await stream.ReadExactlyAsync(answer);
        Assert.Equal(TlsSelection.Messages, answer);
        return new RawTlsClient(socket, null);
    }

    /// <summary>Selects /tls/1.0.0 and completes a TLS 1.3 handshake as client with <paramref name="certificate"/>.</summary>
    public static async Task<RawTlsClient> ConnectAsync(Multiaddr address, SslStreamCertificateContext? certificate)
    {
        var negotiated = await NegotiateAsync(address);
        var tls = new SslStream(negotiated.Socket.GetStream(), leaveInnerStreamOpen: true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new SslApplicationProtocol(TlsHandshake.Libp2pAlpn)],
            ClientCertificateContext = certificate,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return new RawTlsClient(negotiated.Socket, tls);
    }

    /// <summary>Reads until the remote closes: true when it did (end of stream, an alert, a reset).</summary>
    public async Task<bool> ClosedByRemoteAsync()
    {
        var buffer = new byte[256];
        Stream stream = Tls is null ? Socket.GetStream() : Tls;
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
            return true;
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        Tls?.Dispose();
        Socket.Dispose();
    }
}

/// <summary>A TLS server that is no libp2p node: it answers /tls/1.0.0 and presents whatever certificate a test gives it.</summary>
internal sealed class RawTlsServer : IDisposable
{
    private readonly TcpListener _listener;

    private RawTlsServer(TcpListener listener) => _listener = listener;

    public Multiaddr Address => Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public static RawTlsServer Start(SslStreamCertificateContext certificate)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = new RawTlsServer(listener);
        _ = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            var proposal = new byte[TlsSelection.Messages.Length];
            await stream.ReadExactlyAsync(proposal);
            await stream.WriteAsync(TlsSelection.Messages);
            await using var tls = new SslStream(stream);
            try
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    EnabledSslProtocols = SslProtocols.Tls13,
                    ServerCertificateContext = certificate,
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
                    ApplicationProtocols = [new SslApplicationProtocol(TlsHandshake.Libp2pAlpn)],
                });
                var buffer = new byte[256];
                while (await tls.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (Exception e) when (e is IOException or AuthenticationException)
            {
                // The dialer under test refused us: what the test expects.
            }
        });
        return server;
    }

    public void Dispose() => _listener.Stop();
}
