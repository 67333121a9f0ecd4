using System.Security.Cryptography.X509Certificates;
using Akka;
using Akka.Actor;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>
/// WebSockets over TCP (specs <c>websockets/README.md</c>): <c>/ws</c>, and with TLS underneath
/// <c>/tls/ws</c> or <c>/wss</c>. The TCP transport below moves the bytes; a
/// <see cref="WebSocketStage"/> does the HTTP upgrade and the framing; security and muxing are
/// negotiated over it by the upgrader as over plain TCP. Listening on a secure address needs the
/// certificate a browser will accept (<see cref="WebSocketTlsOptions.ServerCertificate"/>);
/// dialing one checks the server's certificate as HTTPS does, unless told otherwise.
/// </summary>
public sealed class WebSocketTransport : ITransport
{
    private readonly ITransport _tcp;

    /// <summary>WebSockets over <paramref name="tcp"/> (by default the socket engine).</summary>
    public WebSocketTransport(ITransport? tcp = null, WebSocketSettings? settings = null, WebSocketTlsOptions? tls = null)
    {
        _tcp = tcp ?? SocketTransport.Instance;
        Settings = settings ?? WebSocketSettings.Default;
        Tls = tls ?? new WebSocketTlsOptions();
    }

    /// <summary>WebSockets over the socket engine with the default limits, no server certificate.</summary>
    public static WebSocketTransport Instance { get; } = new();

    /// <summary>The TCP transport underneath.</summary>
    public ITransport Tcp => _tcp;

    /// <summary>The frame limits and deadlines.</summary>
    public WebSocketSettings Settings { get; }

    /// <summary>The certificate to serve <c>/wss</c> with, and how dialed servers' certificates are checked.</summary>
    public WebSocketTlsOptions Tls { get; }

    /// <inheritdoc />
    public string Name => "ws";

    /// <inheritdoc />
    public bool CanDial(Multiaddr address) =>
        WebSocketAddress.TryParse(address, out var ws) && _tcp.CanDial(ws.Tcp);

    /// <inheritdoc />
    public bool CanListen(Multiaddr address) =>
        WebSocketAddress.TryParse(address, out var ws) && ws.Path == "/" && address.Components[1].Protocol == MultiaddrProtocol.Tcp
        && (!ws.Secure || Tls.ServerCertificate is not null) && _tcp.CanListen(ws.Tcp);

    /// <inheritdoc />
    public Flow<ByteString, ByteString, Task<TransportConnection>> Dial(ActorSystem system, Multiaddr address, TimeSpan connectTimeout)
    {
        if (!WebSocketAddress.TryParse(address, out var ws))
            throw new TransportException($"ws: cannot dial {address}: not a WebSocket address (<host>/tcp/N/ws, /tls/ws or /wss)");
        var tcp = _tcp.Dial(system, ws.Tcp, connectTimeout);
        if (ws.Secure)
            tcp = WebSocketTls.Client(ws.ServerName ?? ws.Tcp.Components[0].Value!, Tls, Settings.UpgradeTimeout).JoinMat(tcp, Keep.Right);
        return WebSocketStage.Client(ws.HostHeader, ws.Path, Settings)
            .JoinMat(tcp, Keep.Right)
            .MapMaterializedValue(connected => connected.ContinueWith(t => t.IsCompletedSuccessfully
                ? new TransportConnection(t.Result.LocalAddress.Encapsulate(ws.Suffix), t.Result.RemoteAddress.Encapsulate(ws.Suffix))
                : throw Unwrap(t), TaskContinuationOptions.ExecuteSynchronously));
    }

    /// <inheritdoc />
    public Source<InboundConnection, Task<TransportListener>> Listen(ActorSystem system, Multiaddr address)
    {
        if (!WebSocketAddress.TryParse(address, out var ws) || !CanListen(address))
            throw new TransportException(ws is { Secure: true } && Tls.ServerCertificate is null
                ? $"ws: cannot listen on {address}: a secure WebSocket needs a server certificate (akka.libp2p.websocket.tls.certificate)"
                : $"ws: cannot listen on {address}: not an /ip4 or /ip6 address with /tcp/N/ws, /tls/ws or /wss");
        var settings = Settings;
        var tls = ws.Secure ? Tls : null;
        return _tcp.Listen(system, ws.Tcp)
            .Select(inbound =>
            {
                var flow = inbound.Flow;
                if (tls is not null)
                    flow = WebSocketTls.Server(tls, settings.UpgradeTimeout).Join(flow);
                var addresses = new TransportConnection(inbound.Addresses.LocalAddress.Encapsulate(ws.Suffix), inbound.Addresses.RemoteAddress.Encapsulate(ws.Suffix));
                return new InboundConnection(addresses, WebSocketStage.Server(settings).Join(flow));
            })
            .MapMaterializedValue(bound => bound.ContinueWith(t => t.IsCompletedSuccessfully
                ? new TransportListener(t.Result.Address.Encapsulate(ws.Suffix), t.Result.UnbindAsync)
                : throw Unwrap(t), TaskContinuationOptions.ExecuteSynchronously));
    }

    private static Exception Unwrap(Task task) => task.Exception?.GetBaseException() ?? new TaskCanceledException(task);
}

/// <summary>TLS under <c>/wss</c>: the certificate served, and the check of a dialed server's.</summary>
public sealed record WebSocketTlsOptions
{
    /// <summary>The certificate (with its private key) served on <c>/wss</c> and <c>/tls/ws</c> listen addresses; none by default.</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>
    /// Checks a dialed server's certificate; null (the default) accepts only one valid for the
    /// name dialed under the system's trusted roots, as a browser does.
    /// </summary>
    public System.Net.Security.RemoteCertificateValidationCallback? ValidateServer { get; init; }
}
