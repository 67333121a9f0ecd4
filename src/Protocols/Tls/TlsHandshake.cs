using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using PublicKey = Libp2p.Protocols.Crypto.PublicKey;

namespace Libp2p.Protocols.Tls;

/// <summary>What a completed libp2p-TLS handshake established.</summary>
/// <param name="RemotePeer">The authenticated remote peer.</param>
/// <param name="RemoteKey">Its host key.</param>
/// <param name="Muxer">The muxer chosen by ALPN, or null when ALPN settled on <c>"libp2p"</c> (or nothing) and multistream-select picks one.</param>
public sealed record TlsSession(PeerId RemotePeer, PublicKey RemoteKey, string? Muxer);

/// <summary>
/// libp2p-TLS (<c>/tls/1.0.0</c>, specs <c>tls/tls.md</c>) on a <see cref="TlsChannel"/>: TLS 1.3
/// only, a fresh self-signed certificate carrying the host key, client certificates required, no
/// SNI, no resumption, the remote's certificate checked by <see cref="Libp2pCertificate.Verify"/>
/// and its peer ID against the one dialed, and the muxer negotiated early through ALPN
/// (<c>connections/inlined-muxer-negotiation.md</c>).
/// </summary>
public sealed class TlsHandshake : IDisposable
{
    /// <summary>The protocol ID negotiated by multistream-select.</summary>
    public const string ProtocolId = "/tls/1.0.0";

    /// <summary>The ALPN entry that means "negotiate the muxer with multistream-select afterwards"; always last.</summary>
    public const string Libp2pAlpn = "libp2p";

    private readonly bool _initiator;
    private readonly PrivateKey _identity;
    private readonly PeerId? _expectedRemote;
    private readonly IReadOnlyList<string> _muxers;
    private readonly TimeProvider _clock;
    private SslStreamCertificateContext? _certificate;
    private CertificateIdentity? _remote;
    private TlsException? _rejection;

    /// <summary>Prepares one side of the handshake; <see cref="Start"/> begins it.</summary>
    /// <param name="initiator">Whether this side dialed (the TLS client).</param>
    /// <param name="identity">This node's host key, which signs the certificate key.</param>
    /// <param name="expectedRemote">The peer the dialer meant to reach; another fails the handshake.</param>
    /// <param name="muxers">The muxers to offer (client) or accept (server) through ALPN, in order of preference.</param>
    /// <param name="wake">Called on any thread when the handshake has output or progressed.</param>
    /// <param name="clock">The time certificates are made and checked at.</param>
    public TlsHandshake(bool initiator, PrivateKey identity, PeerId? expectedRemote, IReadOnlyList<string> muxers, Action wake, TimeProvider? clock = null)
    {
        _initiator = initiator;
        _identity = identity ?? throw new ArgumentNullException(nameof(identity));
        _expectedRemote = expectedRemote;
        _muxers = muxers ?? [];
        _clock = clock ?? TimeProvider.System;
        Channel = new TlsChannel(initiator ? AuthenticateAsClientAsync : AuthenticateAsServerAsync, wake, captureClientHello: !initiator);
    }

    /// <summary>The TLS channel: feed it the transport's bytes, drain its ciphertext.</summary>
    public TlsChannel Channel { get; }

    /// <summary>The outcome once the handshake succeeded.</summary>
    public TlsSession? Session { get; private set; }

    /// <summary>Why it failed, once it did; the message names the cause (a rejected certificate, the wrong peer, TLS).</summary>
    public TlsException? Error { get; private set; }

    /// <summary>Takes this identity's certificate (made on first use) and starts the handshake.</summary>
    public void Start()
    {
        _certificate = LocalCertificates.For(_identity, _clock);
        Channel.Start();
    }

    /// <summary>
    /// Checks the channel after a wake: turns a finished handshake into <see cref="Session"/> or
    /// <see cref="Error"/>. Returns true once either is set.
    /// </summary>
    public bool Poll()
    {
        if (Session is not null || Error is not null)
            return true;
        if (Channel.Error is { } error)
        {
            Error = _rejection ?? error as TlsException ?? new TlsException($"tls: the handshake failed: {Describe(error)}", error);
            return true;
        }
        if (!Channel.IsAuthenticated)
            return false;
        if (_remote is null)
        {
            Error = _rejection ?? new TlsException("tls: the handshake completed without a verified remote certificate");
            return true;
        }
        var alpn = Channel.Ssl.NegotiatedApplicationProtocol;
        var chosen = alpn.Protocol.IsEmpty ? null : System.Text.Encoding.ASCII.GetString(alpn.Protocol.Span);
        Session = new TlsSession(_remote.PeerId, _remote.PublicKey, chosen is not null && _muxers.Contains(chosen) ? chosen : null);
        return true;
    }

    private Task AuthenticateAsClientAsync(TlsChannel channel, CancellationToken cancel) =>
        channel.Ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "", // no SNI: the spec keeps it for future versions
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = Alpn([.. _muxers, Libp2pAlpn]),
            ClientCertificateContext = _certificate,
            RemoteCertificateValidationCallback = ValidateRemote,
            CertificateChainPolicy = ChainPolicy(),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowTlsResume = false, // a resumed session carries no certificate to check
            AllowRenegotiation = false,
        }, cancel);

    private Task AuthenticateAsServerAsync(TlsChannel channel, CancellationToken cancel) =>
        channel.Ssl.AuthenticateAsServerAsync((_, _, _, _) => ValueTask.FromResult(new SslServerAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = ServerAlpn(channel.ClientHello),
            ServerCertificateContext = _certificate,
            ClientCertificateRequired = true,
            RemoteCertificateValidationCallback = ValidateRemote,
            CertificateChainPolicy = ChainPolicy(),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowTlsResume = false,
            AllowRenegotiation = false,
        }), null, cancel);

    /// <summary>
    /// The server's ALPN list in the client's order (the client's first entry we support wins;
    /// .NET picks by the server list's order), or null when the client offered none.
    /// </summary>
    private List<SslApplicationProtocol>? ServerAlpn(ReadOnlySpan<byte> clientHello)
    {
        if (!ClientHelloAlpn.TryRead(clientHello, out var offered))
            return Alpn([.. _muxers, Libp2pAlpn]);
        if (offered.Count == 0)
            return null;
        var ours = offered.Where(p => p == Libp2pAlpn || _muxers.Contains(p)).ToList();
        // Nothing in common: offer ours, which fails the handshake as the spec asks.
        return Alpn(ours.Count > 0 ? ours : [.. _muxers, Libp2pAlpn]);
    }

    private static List<SslApplicationProtocol> Alpn(IEnumerable<string> protocols) =>
        protocols.Select(p => new SslApplicationProtocol(p)).ToList();

    private static X509ChainPolicy ChainPolicy() => new()
    {
        // The chain is never trusted (the certificate is self-signed): it is built only because
        // .NET does so before the callback; it must not go to the network.
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
        TrustMode = X509ChainTrustMode.CustomRootTrust,
    };

    private bool ValidateRemote(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        try
        {
            if (certificate is null)
                throw new TlsException(_initiator ? "tls: the server sent no certificate" : "tls: the client sent no certificate");
            var der = certificate.GetRawCertData();
            // .NET puts every certificate the remote sent, its leaf included, in the chain's extra store.
            var others = chain?.ChainPolicy.ExtraStore.Count(c => !c.RawDataMemory.Span.SequenceEqual(der)) ?? 0;
            if (others > 0)
                throw new TlsException($"tls: the remote sent {others + 1} certificates, not exactly one");
            var remote = Libp2pCertificate.Verify(der, _clock.GetUtcNow());
            if (_expectedRemote is not null && remote.PeerId != _expectedRemote)
                throw new TlsException($"tls: dialed {_expectedRemote} but the remote is {remote.PeerId}");
            _remote = remote;
            return true;
        }
        catch (TlsException e)
        {
            _rejection = e;
            return false;
        }
    }

    private static string Describe(Exception error)
    {
        var messages = new List<string>();
        for (var e = error; e is not null; e = e.InnerException)
            messages.Add(e.Message);
        return string.Join(": ", messages.Distinct());
    }

    /// <inheritdoc />
    public void Dispose() => Channel.Dispose();
}
