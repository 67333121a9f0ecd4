using System.Net.Security;
using System.Runtime.CompilerServices;
using Libp2p.Protocols.Crypto;

namespace Libp2p.Protocols.Tls;

/// <summary>
/// This node's libp2p-TLS certificates, one per host key, made on first use and kept while the key
/// lives (as go-libp2p's TLS transport does; the spec allows reuse). A fresh key and certificate per
/// handshake doubled the connection set-up time (a P-256 key, a signature by the host key, and
/// .NET's certificate context, which builds a chain).
/// </summary>
internal static class LocalCertificates
{
    private static readonly ConditionalWeakTable<PrivateKey, SslStreamCertificateContext> ByIdentity = new();

    /// <summary>The certificate context for <paramref name="identity"/>; made now if it has none yet.</summary>
    public static SslStreamCertificateContext For(PrivateKey identity, TimeProvider clock) =>
        ByIdentity.GetValue(identity, key => SslStreamCertificateContext.Create(Libp2pCertificate.Create(key, clock.GetUtcNow()), null, offline: true));
}
