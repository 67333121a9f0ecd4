namespace Libp2p.Protocols.Tls;

/// <summary>A libp2p-TLS handshake failed: the remote's certificate, its identity, or TLS itself.</summary>
public sealed class TlsException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> says what was wrong.</summary>
    public TlsException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with the error underneath.</summary>
    public TlsException(string message, Exception inner) : base(message, inner)
    {
    }
}
