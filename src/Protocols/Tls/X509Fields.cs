using System.Formats.Asn1;

namespace Libp2p.Protocols.Tls;

/// <summary>The fields of an X.509 certificate (RFC 5280 §4.1) that libp2p-TLS checks, read from DER.</summary>
/// <param name="Tbs">The signed part, <c>tbsCertificate</c>, as encoded.</param>
/// <param name="SignatureAlgorithm">The OID of the signature algorithm (the outer one, equal to the signed one).</param>
/// <param name="Signature">The signature bits.</param>
/// <param name="NotBefore">Start of validity.</param>
/// <param name="NotAfter">End of validity.</param>
/// <param name="SubjectPublicKeyInfo">The certificate key's <c>SubjectPublicKeyInfo</c>, as encoded.</param>
/// <param name="HasUniqueIds">Whether the deprecated issuer or subject unique ID is present.</param>
/// <param name="Extensions">Each extension's OID, criticality and value, in order.</param>
internal sealed record X509Fields(ReadOnlyMemory<byte> Tbs, string SignatureAlgorithm, byte[] Signature, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    ReadOnlyMemory<byte> SubjectPublicKeyInfo, bool HasUniqueIds, IReadOnlyList<(string Oid, bool Critical, byte[] Value)> Extensions)
{
    private static readonly Asn1Tag Version = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag IssuerUniqueId = new(TagClass.ContextSpecific, 1);
    private static readonly Asn1Tag SubjectUniqueId = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag ExtensionsTag = new(TagClass.ContextSpecific, 3, isConstructed: true);

    /// <summary>Reads a DER certificate.</summary>
    /// <exception cref="AsnContentException">Not a well-formed certificate.</exception>
    public static X509Fields Read(ReadOnlyMemory<byte> der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var certificate = outer.ReadSequence();
        if (outer.HasData)
            throw new AsnContentException("bytes follow the certificate");
        var tbs = certificate.ReadEncodedValue();
        var algorithm = ReadAlgorithm(certificate);
        var signature = certificate.ReadBitString(out _);
        End(certificate, "certificate");

        var fields = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
        if (fields.PeekTag().HasSameClassAndValue(Version))
            fields.ReadSequence(Version).ReadInteger();
        fields.ReadInteger(); // serial number
        if (ReadAlgorithm(fields) != algorithm)
            throw new AsnContentException("the signed signature algorithm differs from the outer one");
        fields.ReadEncodedValue(); // issuer: may be empty (js-libp2p's is)
        var validity = fields.ReadSequence();
        var notBefore = ReadTime(validity);
        var notAfter = ReadTime(validity);
        End(validity, "validity");
        fields.ReadEncodedValue(); // subject
        var spki = fields.ReadEncodedValue();
        var uniqueIds = false;
        List<(string, bool, byte[])> extensions = [];
        while (fields.HasData)
        {
            var tag = fields.PeekTag();
            if (tag.HasSameClassAndValue(IssuerUniqueId) || tag.HasSameClassAndValue(SubjectUniqueId))
            {
                uniqueIds = true;
                fields.ReadEncodedValue();
            }
            else if (tag.HasSameClassAndValue(ExtensionsTag))
            {
                var list = fields.ReadSequence(ExtensionsTag).ReadSequence();
                while (list.HasData)
                {
                    var extension = list.ReadSequence();
                    var oid = extension.ReadObjectIdentifier();
                    var critical = extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && extension.ReadBoolean();
                    extensions.Add((oid, critical, extension.ReadOctetString()));
                    End(extension, "extension");
                }
            }
            else
            {
                throw new AsnContentException($"unexpected field {tag} in the certificate");
            }
        }
        return new X509Fields(tbs, algorithm, signature, notBefore, notAfter, spki, uniqueIds, extensions);
    }

    private static string ReadAlgorithm(AsnReader reader)
    {
        var sequence = reader.ReadSequence();
        var oid = sequence.ReadObjectIdentifier();
        if (sequence.HasData)
            sequence.ReadEncodedValue(); // parameters (NULL for RSA, absent for ECDSA)
        End(sequence, "algorithm identifier");
        return oid;
    }

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();

    private static void End(AsnReader reader, string what)
    {
        if (reader.HasData)
            throw new AsnContentException($"bytes follow the {what}");
    }
}
