using Libp2p.Protocols.Tls;

namespace Libp2p.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>A remote's TLS certificate: our DER reader and every check after it.</summary>
    public static FuzzTarget TlsCertificate { get; } = new("tls-certificate", "Libp2pCertificate.Verify (X509Fields.Read, the self-signature, the libp2p extension)", input =>
    {
        try
        {
            var identity = Libp2pCertificate.Verify(input, new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
            FuzzCheckException.Check(identity.PeerId.Equals(Protocols.Peer.PeerId.FromPublicKey(identity.PublicKey)), "a verified certificate's peer ID is not its key's");
        }
        catch (TlsException)
        {
        }
    });

    /// <summary>A TLS ClientHello's ALPN offer, read by the server before it answers.</summary>
    public static FuzzTarget TlsClientHello { get; } = new("tls-client-hello", "ClientHelloAlpn.TryRead", input =>
    {
        if (ClientHelloAlpn.TryRead(input, out var protocols))
            FuzzCheckException.Check(protocols.All(p => p.Length > 0), "an empty ALPN entry was read");
    });
}
