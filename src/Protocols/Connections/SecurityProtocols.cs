using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Tls;

namespace Libp2p.Protocols.Connections;

/// <summary>The connection security protocols this implementation speaks.</summary>
public static class SecurityProtocols
{
    /// <summary>Every one we speak: <c>/noise</c> and <c>/tls/1.0.0</c>.</summary>
    public static IReadOnlyList<string> Supported { get; } = [NoiseHandshake.ProtocolId, TlsHandshake.ProtocolId];

    /// <summary>The default preference, as go-libp2p's: Noise, then TLS.</summary>
    public static IReadOnlyList<string> Defaults { get; } = [NoiseHandshake.ProtocolId, TlsHandshake.ProtocolId];
}
