namespace Libp2p.Protocols.Crypto;

/// <summary>
/// The key algorithms of libp2p's crypto.proto. The numeric values are the wire values of the
/// <c>KeyType</c> enum and must not change.
/// </summary>
public enum KeyType
{
    /// <summary>RSA, keys of 2048 bits or more; public keys in PKIX (DER) form.</summary>
    RSA = 0,

    /// <summary>Ed25519; 32-byte public keys.</summary>
    Ed25519 = 1,

    /// <summary>Secp256k1 ECDSA; 33-byte compressed public keys.</summary>
    Secp256k1 = 2,

    /// <summary>ECDSA on NIST P-256; public keys in PKIX (DER) form.</summary>
    ECDSA = 3,
}
