using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Tls;

namespace Libp2p.Protocols.Tests.Tls;

public sealed class Libp2pCertificateTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public static TheoryData<KeyType> KeyTypes => new() { KeyType.Ed25519, KeyType.Secp256k1, KeyType.ECDSA, KeyType.RSA };

    [Theory]
    [MemberData(nameof(KeyTypes))]
    public void A_fresh_certificate_must_verify_and_prove_the_host_key_of_every_type(KeyType type)
    {
        using var identity = PrivateKey.Generate(type);
        using var certificate = Libp2pCertificate.Create(identity, Now);

        var proven = Libp2pCertificate.Verify(certificate.RawData, Now);

        Assert.Equal(identity.PublicKey, proven.PublicKey);
        Assert.Equal(PeerId.FromPublicKey(identity.PublicKey), proven.PeerId);
    }

    [Fact]
    public void A_fresh_certificate_must_be_p256_with_the_extension_first_valid_from_an_hour_ago_for_a_hundred_years()
    {
        using var identity = PrivateKey.Generate(KeyType.Ed25519);
        var at = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        using var certificate = Libp2pCertificate.Create(identity, at);

        Assert.Equal(Libp2pCertificate.ExtensionOid, certificate.Extensions[0].Oid!.Value);
        Assert.False(certificate.Extensions[0].Critical);
        Assert.Equal(at.AddHours(-1).UtcDateTime, certificate.NotBefore.ToUniversalTime());
        Assert.Equal(at.AddYears(100).UtcDateTime, certificate.NotAfter.ToUniversalTime());
        using var key = certificate.GetECDsaPublicKey();
        Assert.NotNull(key);
        Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, key.ExportParameters(false).Curve.Oid.Value);
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal("1.2.840.10045.4.3.2", certificate.SignatureAlgorithm.Value); // ecdsa-with-SHA256
    }

    [Fact]
    public void Two_fresh_certificates_must_differ_in_key_and_serial()
    {
        using var identity = PrivateKey.Generate(KeyType.Ed25519);
        using var first = Libp2pCertificate.Create(identity, Now);
        using var second = Libp2pCertificate.Create(identity, Now);

        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.NotEqual(first.PublicKey.EncodedKeyValue.RawData, second.PublicKey.EncodedKeyValue.RawData);
    }

    [Theory]
    [InlineData(SpecVectors.Ed25519, "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv")]
    [InlineData(SpecVectors.Ecdsa, "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE")]
    [InlineData(SpecVectors.Secp256k1, "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs")]
    public void The_spec_test_vectors_must_verify_to_their_peer_ids(string hex, string peerId)
    {
        var proven = Libp2pCertificate.Verify(Convert.FromHexString(hex), Now);

        Assert.Equal(PeerId.Parse(peerId), proven.PeerId);
    }

    [Fact]
    public void The_spec_invalid_test_vector_must_fail_on_the_host_key_signature()
    {
        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(Convert.FromHexString(SpecVectors.Invalid), Now));

        Assert.Equal("tls: the host key's signature over the certificate key does not verify", error.Message);
    }

    /// <summary>An RSA certificate key is checked by the platform (PKCS #1 v1.5), after its size: a good one proves its peer, a bad signature is refused.</summary>
    [Theory]
    [InlineData(false, null)]
    [InlineData(true, "tls: the certificate's self-signature is invalid")]
    public void A_certificate_with_an_RSA_key_must_prove_its_peer_unless_its_self_signature_is_broken(bool broken, string? refusal)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=rsa", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509Extension(Libp2pCertificate.ExtensionOid,
            Libp2pCertificate.SignedKey(BadCertificates.Identity, key.ExportSubjectPublicKeyInfo()), critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddYears(1));
        var der = certificate.RawData;
        if (broken)
            der[^1] ^= 1;

        if (refusal is null)
            Assert.Equal(PeerId.FromPublicKey(BadCertificates.Identity.PublicKey), Libp2pCertificate.Verify(der, Now).PeerId);
        else
            Assert.Equal(refusal, Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(der, Now)).Message);
    }

    [Fact]
    public void A_certificate_without_the_extension_must_be_refused()
    {
        using var certificate = BadCertificates.Build(BadExtension.None);

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));

        Assert.Equal($"tls: the certificate lacks the libp2p public key extension ({Libp2pCertificate.ExtensionOid})", error.Message);
    }

    [Fact]
    public void A_certificate_whose_host_key_signed_something_else_must_be_refused()
    {
        using var certificate = BadCertificates.Build(BadExtension.WrongSignature);

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));

        Assert.Equal("tls: the host key's signature over the certificate key does not verify", error.Message);
    }

    [Fact]
    public void An_expired_certificate_must_be_refused()
    {
        using var certificate = BadCertificates.Build(notBefore: Now.AddDays(-2), notAfter: Now.AddDays(-1));

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));

        Assert.StartsWith("tls: the certificate expired at ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_not_yet_valid_must_be_refused()
    {
        using var certificate = BadCertificates.Build(notBefore: Now.AddDays(1), notAfter: Now.AddDays(2));

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));

        Assert.StartsWith("tls: the certificate is not valid before ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_with_an_unknown_critical_extension_must_be_refused()
    {
        using var certificate = BadCertificates.Build(more: new X509Extension("1.2.3.4.5", [0x05, 0x00], critical: true));

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));

        Assert.Equal("tls: the certificate has a critical extension 1.2.3.4.5 we do not understand", error.Message);
    }

    [Fact]
    public void An_unknown_extension_that_is_not_critical_must_be_ignored()
    {
        using var certificate = BadCertificates.Build(more: new X509Extension("1.2.3.4.5", [0x05, 0x00], critical: false));

        Assert.Equal(BadCertificates.Identity.PublicKey, Libp2pCertificate.Verify(certificate.RawData, Now).PublicKey);
    }

    [Fact]
    public void A_certificate_signed_with_sha1_must_be_refused()
    {
        using var certificate = BadCertificates.BuildSha1();

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));

        Assert.StartsWith("tls: the certificate is signed with ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("whose hash is shorter than 256 bits", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_with_a_broken_self_signature_must_be_refused()
    {
        using var identity = PrivateKey.Generate(KeyType.Ed25519);
        using var certificate = Libp2pCertificate.Create(identity, Now);
        var der = certificate.RawData;
        der[^3] ^= 0x01; // inside the signature value, the last field

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(der, Now));

        Assert.StartsWith("tls: the certificate's self-signature is invalid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_extension_or_certificate_must_fail_with_a_clear_error()
    {
        using var certificate = BadCertificates.Build(BadExtension.Malformed);

        var error = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify(certificate.RawData, Now));
        Assert.StartsWith("tls: the libp2p extension is malformed", error.Message, StringComparison.Ordinal);

        var garbage = Assert.Throws<TlsException>(() => Libp2pCertificate.Verify([0x30, 0x82, 0x01], Now));
        Assert.StartsWith("tls: the certificate ", garbage.Message, StringComparison.Ordinal);
    }
}

/// <summary>What the libp2p extension of a test certificate holds.</summary>
internal enum BadExtension { Right, None, WrongSignature, Malformed }

/// <summary>Certificates that break one rule each, made the way <see cref="Libp2pCertificate.Create"/> makes good ones.</summary>
internal static class BadCertificates
{
    public static PrivateKey Identity { get; } = PrivateKey.Generate(KeyType.Ed25519);

    /// <summary>A self-signed P-256 certificate for <see cref="Identity"/>, with the private key.</summary>
    public static X509Certificate2 Build(BadExtension extension = BadExtension.Right, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null,
        X509Extension? more = null, HashAlgorithmName? hash = null, PrivateKey? identity = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=bad", key, hash ?? HashAlgorithmName.SHA256);
        byte[]? value = extension switch
        {
            BadExtension.Right => Libp2pCertificate.SignedKey(identity ?? Identity, key.ExportSubjectPublicKeyInfo()),
            BadExtension.WrongSignature => WrongSignature(identity ?? Identity),
            BadExtension.Malformed => [0x30, 0x03, 0x04, 0x01, 0x00],
            _ => null,
        };
        if (value is not null)
            request.CertificateExtensions.Add(new X509Extension(Libp2pCertificate.ExtensionOid, value, critical: false));
        if (more is not null)
            request.CertificateExtensions.Add(more);
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(notBefore ?? now.AddHours(-1), notAfter ?? now.AddYears(1));
    }

    /// <summary>A certificate with the right extension, signed with ecdsa-with-SHA1 (which .NET will not make by itself).</summary>
    public static X509Certificate2 BuildSha1()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sha1", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(Libp2pCertificate.ExtensionOid, Libp2pCertificate.SignedKey(Identity, key.ExportSubjectPublicKeyInfo()), critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.Create(request.SubjectName, new Sha1EcdsaSignatures(key), now.AddHours(-1), now.AddYears(1), [1, 2, 3]);
    }

    /// <summary>
    /// A leaf with the right extension issued by an intermediate CA under a root: sent with the
    /// intermediate (.NET leaves the root out), two certificates.
    /// </summary>
    public static (X509Certificate2 Leaf, X509Certificate2[] Authorities) BuildChain()
    {
        var now = DateTimeOffset.UtcNow;
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var root = rootRequest.CreateSelfSigned(now.AddHours(-1), now.AddYears(1));
        using var middleKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var middleRequest = new CertificateRequest("CN=intermediate", middleKey, HashAlgorithmName.SHA256);
        middleRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var middleIssued = middleRequest.Create(root, now.AddMinutes(-50), now.AddMonths(9), [7, 8, 9]);
        var middle = middleIssued.CopyWithPrivateKey(middleKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=leaf", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(Libp2pCertificate.ExtensionOid, Libp2pCertificate.SignedKey(Identity, key.ExportSubjectPublicKeyInfo()), critical: false));
        using var issued = request.Create(middle, now.AddMinutes(-30), now.AddMonths(6), [4, 5, 6]);
        return (issued.CopyWithPrivateKey(key), [middle, root]);
    }

    private sealed class Sha1EcdsaSignatures(ECDsa key) : X509SignatureGenerator
    {
        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm)
        {
            var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
            using (writer.PushSequence())
                writer.WriteObjectIdentifier("1.2.840.10045.4.1");
            return writer.Encode();
        }

        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) =>
            key.SignData(data, HashAlgorithmName.SHA1, DSASignatureFormat.Rfc3279DerSequence);

        protected override System.Security.Cryptography.X509Certificates.PublicKey BuildPublicKey() => CreateForECDsa(key).PublicKey;
    }

    /// <summary>A SignedKey whose host key signed another key than the certificate's.</summary>
    private static byte[] WrongSignature(PrivateKey identity)
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return Libp2pCertificate.SignedKey(identity, other.ExportSubjectPublicKeyInfo());
    }
}
