using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using Org.BouncyCastle.Asn1;
using SubjectPublicKeyInfo = Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo;
using Org.BouncyCastle.Security;
using PublicKey = Libp2p.Protocols.Crypto.PublicKey;

namespace Libp2p.Protocols.Tls;

/// <summary>What a verified libp2p certificate proves: the remote's host key and so its peer ID.</summary>
/// <param name="PublicKey">The host key carried in the libp2p extension.</param>
/// <param name="PeerId">The peer ID derived from it.</param>
public sealed record CertificateIdentity(PublicKey PublicKey, PeerId PeerId);

/// <summary>
/// The self-signed certificate of libp2p-TLS (specs <c>tls/tls.md</c>): a throwaway ECDSA P-256
/// key signs the certificate, and the host key proves itself in the libp2p public key extension
/// by signing <c>"libp2p-tls-handshake:" + SubjectPublicKeyInfo</c>.
/// </summary>
public static class Libp2pCertificate
{
    /// <summary>The libp2p public key extension's OID (IANA PEN 53594, allocated to libp2p).</summary>
    public const string ExtensionOid = "1.3.6.1.4.1.53594.1.1";

    private static readonly byte[] SignaturePrefix = "libp2p-tls-handshake:"u8.ToArray();

    // Critical extensions whose meaning we know (and that do not restrict a self-signed leaf's use here).
    private static readonly HashSet<string> UnderstoodCritical =
    [
        ExtensionOid,
        "2.5.29.15", // keyUsage
        "2.5.29.19", // basicConstraints
        "2.5.29.37", // extendedKeyUsage
    ];

    // Signature algorithms whose hash is shorter than 256 bits: the spec forbids them (collisions).
    private static readonly HashSet<string> WeakSignatureAlgorithms =
    [
        "1.2.840.113549.1.1.4", // md5WithRSAEncryption
        "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
        "1.2.840.10045.4.1",    // ecdsa-with-SHA1
        "1.2.840.10040.4.3",    // dsa-with-sha1
        "1.2.840.113549.1.1.14", // sha224WithRSAEncryption
        "1.2.840.10045.4.3.1",  // ecdsa-with-SHA224
    ];

    /// <summary>
    /// Makes a fresh certificate for <paramref name="identity"/>: a new P-256 key, the libp2p
    /// extension first (js-libp2p reads <c>extensions[0]</c>), valid from an hour ago (clock skew)
    /// for a hundred years. The returned certificate holds its private key.
    /// </summary>
    public static X509Certificate2 Create(PrivateKey identity, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var at = now ?? DateTimeOffset.UtcNow;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("SERIALNUMBER=" + RandomSerial().ToString()), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(ExtensionOid, SignedKey(identity, key.ExportSubjectPublicKeyInfo()), critical: false));
        var serial = RandomSerial().ToByteArray(isUnsigned: true, isBigEndian: true);
        return request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), at.AddHours(-1), at.AddYears(100), serial)
            .CopyWithPrivateKey(key);
    }

    /// <summary>The DER of <c>SignedKey { publicKey OCTET STRING, signature OCTET STRING }</c> for a certificate key.</summary>
    internal static byte[] SignedKey(PrivateKey identity, ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteOctetString(identity.PublicKey.ToProtobuf());
            writer.WriteOctetString(identity.Sign([.. SignaturePrefix, .. subjectPublicKeyInfo]));
        }
        return writer.Encode();
    }

    /// <summary>
    /// Checks a remote's certificate as the spec asks and returns the identity it proves: valid at
    /// <paramref name="now"/>, its self-signature valid with a hash of at least 256 bits, named
    /// curves only, the libp2p extension present with a valid signature, no critical extension we
    /// do not understand, no unique IDs. The DER is read here (js-libp2p's certificates have an
    /// empty issuer, which BouncyCastle's certificate class refuses); BouncyCastle checks the signature.
    /// </summary>
    /// <exception cref="TlsException">Any of those fails; the message says which.</exception>
    public static CertificateIdentity Verify(ReadOnlySpan<byte> der, DateTimeOffset now)
    {
        X509Fields certificate;
        try
        {
            certificate = X509Fields.Read(der.ToArray());
        }
        catch (Exception e) when (e is AsnContentException or FormatException or ArgumentException)
        {
            throw new TlsException($"tls: the certificate does not parse: {e.Message}", e);
        }
        if (now < certificate.NotBefore)
            throw new TlsException($"tls: the certificate is not valid before {certificate.NotBefore.UtcDateTime:u}");
        if (now > certificate.NotAfter)
            throw new TlsException($"tls: the certificate expired at {certificate.NotAfter.UtcDateTime:u}");
        if (certificate.HasUniqueIds)
            throw new TlsException("tls: the certificate carries the deprecated issuer or subject unique ID");
        if (WeakSignatureAlgorithms.Contains(certificate.SignatureAlgorithm))
            throw new TlsException($"tls: the certificate is signed with {certificate.SignatureAlgorithm}, whose hash is shorter than 256 bits");
        VerifySelfSignature(certificate);
        foreach (var (oid, critical, _) in certificate.Extensions)
        {
            if (critical && !UnderstoodCritical.Contains(oid))
                throw new TlsException($"tls: the certificate has a critical extension {oid} we do not understand");
        }
        var extension = certificate.Extensions.FirstOrDefault(e => e.Oid == ExtensionOid).Value
            ?? throw new TlsException($"tls: the certificate lacks the libp2p public key extension ({ExtensionOid})");
        var (hostKey, signature) = ReadSignedKey(extension);
        if (!hostKey.Verify([.. SignaturePrefix, .. certificate.SubjectPublicKeyInfo.Span], signature))
            throw new TlsException("tls: the host key's signature over the certificate key does not verify");
        return new CertificateIdentity(hostKey, PeerId.FromPublicKey(hostKey));
    }

    private static void VerifySelfSignature(X509Fields certificate)
    {
        if (TryVerifyRsaSelfSignature(certificate))
            return;
        Org.BouncyCastle.Crypto.AsymmetricKeyParameter key;
        try
        {
            var spki = SubjectPublicKeyInfo.GetInstance(Asn1Object.FromByteArray(certificate.SubjectPublicKeyInfo.ToArray()));
            if (spki.Algorithm.Algorithm.Id == "1.2.840.10045.2.1" && spki.Algorithm.Parameters is not DerObjectIdentifier)
                throw new TlsException("tls: the certificate's elliptic curve is not given by name");
            key = PublicKeyFactory.CreateKey(spki);
        }
        catch (Exception e) when (e is not TlsException and not OutOfMemoryException)
        {
            throw new TlsException($"tls: the certificate's public key is not usable: {e.Message}", e);
        }
        bool valid;
        try
        {
            var signer = SignerUtilities.GetSigner(certificate.SignatureAlgorithm);
            signer.Init(false, key);
            signer.BlockUpdate(certificate.Tbs.Span);
            valid = signer.VerifySignature(certificate.Signature);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new TlsException($"tls: the certificate's self-signature is invalid: {e.Message}", e);
        }
        if (!valid)
            throw new TlsException("tls: the certificate's self-signature is invalid");
    }

    /// <summary>
    /// An RSA certificate key is bounded as host keys are (2048 to 8192 bits, an exponent of at
    /// most 2^32) before any arithmetic, and a PKCS #1 v1.5 self-signature is checked by the
    /// platform: the key is the remote's throwaway one, sent before anything is authenticated, and
    /// BouncyCastle's own check of a 16,384-bit key with a huge exponent took 17 s of CPU. False
    /// when the key is not RSA; an RSA key signed otherwise (PSS) goes on to the general check once
    /// its size is known to be sane.
    /// </summary>
    /// <exception cref="TlsException">The key is out of bounds, or the signature does not verify.</exception>
    private static bool TryVerifyRsaSelfSignature(X509Fields certificate)
    {
        try
        {
            var reader = new AsnReader(certificate.SubjectPublicKeyInfo, AsnEncodingRules.DER).ReadSequence();
            if (reader.ReadSequence().ReadObjectIdentifier() != RsaEncryption)
                return false;
        }
        catch (AsnContentException e)
        {
            throw new TlsException($"tls: the certificate's public key is not usable: {e.Message}", e);
        }
        // Only for RSA keys: the usual certificate key (P-256) makes no RSA object.
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportSubjectPublicKeyInfo(certificate.SubjectPublicKeyInfo.Span, out _);
            RsaLimits.Check(rsa, "tls: the certificate's RSA key");
        }
        catch (FormatException e)
        {
            throw new TlsException(e.Message, e);
        }
        catch (CryptographicException e)
        {
            throw new TlsException($"tls: the certificate's public key is not usable: {e.Message}", e);
        }
        HashAlgorithmName? hash = certificate.SignatureAlgorithm switch
        {
            "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
            "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
            "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
            _ => null,
        };
        if (hash is not { } name)
            return false;
        bool valid;
        try
        {
            valid = rsa.VerifyData(certificate.Tbs.Span, certificate.Signature, name, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException e)
        {
            throw new TlsException($"tls: the certificate's self-signature is invalid: {e.Message}", e);
        }
        if (!valid)
            throw new TlsException("tls: the certificate's self-signature is invalid");
        return true;
    }

    private const string RsaEncryption = "1.2.840.113549.1.1.1";

    private static (PublicKey Key, byte[] Signature) ReadSignedKey(byte[] der)
    {
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            if (reader.HasData)
                throw new AsnContentException("bytes follow the SignedKey");
            var key = sequence.ReadOctetString();
            var signature = sequence.ReadOctetString();
            if (sequence.HasData)
                throw new AsnContentException("the SignedKey has more than two fields");
            return (PublicKey.FromProtobuf(key), signature);
        }
        catch (Exception e) when (e is AsnContentException or FormatException)
        {
            throw new TlsException($"tls: the libp2p extension is malformed: {e.Message}", e);
        }
    }

    private static System.Numerics.BigInteger RandomSerial() =>
        new(RandomNumberGenerator.GetBytes(8), isUnsigned: true, isBigEndian: true);
}
