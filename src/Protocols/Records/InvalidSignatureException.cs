namespace Libp2p.Protocols.Records;

/// <summary>
/// A well-formed signed record that does not prove what it claims: the signature does not verify
/// for the expected domain, or it verifies but the signer is not the peer the record names.
/// Kept apart from <see cref="FormatException"/> so callers can tell a forgery (or a record of
/// another kind) from garbage on the wire.
/// </summary>
public sealed class InvalidSignatureException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What did not verify, for people.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public InvalidSignatureException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
