using System.Buffers;
using System.Text;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Multistream;

namespace Libp2p.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>The unsigned varint, all three readers, which must agree.</summary>
    public static FuzzTarget Varint { get; } = new("varint", "Varint.TryRead, Varint.Read, Varint.ReadInt32 (must agree; a value read re-encodes to the bytes read)", input =>
    {
        var status = Protocols.Encoding.Varint.TryRead(input, out var value, out var consumed);
        ulong read;
        try
        {
            read = Protocols.Encoding.Varint.Read(input, out var used);
            FuzzCheckException.Check(status == OperationStatus.Done && read == value && used == consumed, "Read accepted what TryRead did not");
            FuzzCheckException.Check(Protocols.Encoding.Varint.Encode(read).AsSpan().SequenceEqual(input.AsSpan(0, used)), "a varint read does not re-encode to its bytes");
        }
        catch (FormatException)
        {
            FuzzCheckException.Check(status != OperationStatus.Done, "TryRead accepted what Read did not");
        }
        try
        {
            var small = Protocols.Encoding.Varint.ReadInt32(input, out _, "fuzz", 1 << 20);
            FuzzCheckException.Check(small <= 1 << 20 && (ulong)small == value, "ReadInt32 read past its maximum");
        }
        catch (FormatException)
        {
        }
    });

    /// <summary>Multiaddr text: what parses prints back to itself and survives the binary form.</summary>
    public static FuzzTarget MultiaddrText { get; } = new("multiaddr-text", "Multiaddr.Parse, TryParse; a parsed address round-trips through ToString and ToBytes", input =>
    {
        var text = Encoding.UTF8.GetString(input);
        Multiaddr address;
        try
        {
            address = Multiaddr.Parse(text);
        }
        catch (FormatException)
        {
            FuzzCheckException.Check(!Multiaddr.TryParse(text, out _), "TryParse accepted what Parse did not");
            return;
        }
        CheckRoundTrip(address);
    });

    /// <summary>Multiaddr bytes: what decodes encodes back to the same bytes.</summary>
    public static FuzzTarget MultiaddrBytes { get; } = new("multiaddr-bytes", "Multiaddr.FromBytes, TryFromBytes; a decoded address round-trips through ToBytes and ToString", input =>
    {
        Multiaddr address;
        try
        {
            address = Multiaddr.FromBytes(input);
        }
        catch (FormatException)
        {
            FuzzCheckException.Check(!Multiaddr.TryFromBytes(input, out _), "TryFromBytes accepted what FromBytes did not");
            return;
        }
        FuzzCheckException.Check(address.ToBytes().AsSpan().SequenceEqual(input), "a decoded multiaddr encodes to other bytes");
        CheckRoundTrip(address);
    });

    private static void CheckRoundTrip(Multiaddr address)
    {
        var text = address.ToString();
        FuzzCheckException.Check(Multiaddr.Parse(text).Equals(address), $"{text} parses to another address");
        FuzzCheckException.Check(Multiaddr.FromBytes(address.ToBytes()).Equals(address), $"{text} decodes to another address");
    }

    /// <summary>Multistream-select: messages, ls answers, and both negotiators fed the input in pieces.</summary>
    public static FuzzTarget Multistream { get; } = new("multistream", "MultistreamMessage.TryRead and TryReadList over the whole input; an initiator and a responder fed it in pieces", input =>
    {
        var body = input.AsSpan(Math.Min(1, input.Length));
        try
        {
            while (MultistreamMessage.TryRead(body, out _, out var consumed) == OperationStatus.Done)
                body = body[consumed..];
        }
        catch (FormatException)
        {
        }
        try
        {
            MultistreamMessage.TryReadList(input.AsSpan(Math.Min(1, input.Length)), out _, out _);
        }
        catch (FormatException)
        {
        }
        // The sans-IO negotiators never throw for bad input: they fail with an error instead.
        var output = new ArrayBufferWriter<byte>();
        MultistreamNegotiator[] negotiators =
        [
            MultistreamNegotiator.Initiator(["/yamux/1.0.0", "/mplex/6.7.0"]),
            MultistreamNegotiator.Responder(["/noise", "/yamux/1.0.0"]),
        ];
        foreach (var negotiator in negotiators)
        {
            negotiator.Start(output);
            foreach (var piece in Pieces(input))
            {
                var taken = negotiator.Receive(piece, output);
                FuzzCheckException.Check(taken >= 0 && taken <= piece.Count, $"Receive took {taken} of {piece.Count} bytes");
            }
        }
    });
}
