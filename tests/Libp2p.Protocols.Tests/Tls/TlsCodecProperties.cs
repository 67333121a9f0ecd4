using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Tls;

namespace Libp2p.Protocols.Tests.Tls;

/// <summary>The TLS parsers on hostile bytes: a clear error or a result, never another exception.</summary>
public sealed class TlsCodecProperties
{
    private static readonly byte[] Good = GoodCertificate();

    [Property(MaxTest = 500)]
    public bool Random_bytes_must_not_break_the_client_hello_reader(byte[] bytes)
    {
        ClientHelloAlpn.TryRead(bytes, out var protocols);
        return protocols is not null;
    }

    [Property(MaxTest = 300)]
    public Property A_certificate_with_one_byte_changed_must_verify_or_fail_with_a_tls_error() =>
        Prop.ForAll(Gen.Choose(0, Good.Length - 1).ToArbitrary(), ArbMap.Default.ArbFor<byte>(), (at, value) =>
        {
            var der = (byte[])Good.Clone();
            der[at] = value;
            try
            {
                Libp2pCertificate.Verify(der, DateTimeOffset.UtcNow);
                return true;
            }
            catch (TlsException)
            {
                return true;
            }
        });

    [Property(MaxTest = 300)]
    public bool Random_bytes_must_fail_certificate_verification_with_a_tls_error(byte[] bytes)
    {
        try
        {
            Libp2pCertificate.Verify(bytes, DateTimeOffset.UtcNow);
            return false;
        }
        catch (TlsException)
        {
            return true;
        }
    }

    private static byte[] GoodCertificate()
    {
        using var identity = PrivateKey.Generate(KeyType.Ed25519);
        using var certificate = Libp2pCertificate.Create(identity);
        return certificate.RawData;
    }
}
