using System.Buffers;
using Google.Protobuf;
using Libp2p.Protocols.Dcutr.Pb;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Dcutr;

/// <summary>
/// DCUtR's wire (libp2p/specs <c>relay/DCUtR.md</c>): the protocol id, its limits, and the
/// <see cref="HolePunch"/> messages, framed as every relay-family protocol frames them (varint length,
/// at most <see cref="MaxMessageSize"/> bytes). Every check a peer's message must pass is here, so
/// the exchange only ever sees a CONNECT or a SYNC with its type set.
/// </summary>
public static class HolePunchMessages
{
    /// <summary>The protocol id.</summary>
    public const string ProtocolId = "/libp2p/dcutr";

    /// <summary>The largest message accepted, length prefix excluded (the spec's SHOULD, go's limit).</summary>
    public const int MaxMessageSize = 4 * 1024;

    /// <summary>How many CONNECT/SYNC rounds the inbound peer runs before it gives up (the spec: retry twice).</summary>
    public const int MaxAttempts = 3;

    /// <summary>
    /// A CONNECT carrying <paramref name="addresses"/>, best first: relayed ones are left out (a hole
    /// is punched to a direct address only), and those that would take it past
    /// <see cref="MaxMessageSize"/>, which the peer would refuse whole.
    /// </summary>
    public static HolePunch Connect(IEnumerable<Multiaddr> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var message = new HolePunch { Type = HolePunch.Types.Type.Connect };
        foreach (var address in addresses.Where(a => !a.Has(MultiaddrProtocol.P2pCircuit)).Distinct())
        {
            message.ObsAddrs.Add(ByteString.CopyFrom(address.ToBytes()));
            if (message.CalculateSize() > MaxMessageSize)
            {
                message.ObsAddrs.RemoveAt(message.ObsAddrs.Count - 1);
                break;
            }
        }
        return message;
    }

    /// <summary>The SYNC message.</summary>
    public static HolePunch Sync() => new() { Type = HolePunch.Types.Type.Sync };

    /// <summary>Writes <paramref name="message"/> with its varint length prefix.</summary>
    /// <exception cref="ArgumentException">The message is larger than <see cref="MaxMessageSize"/>: a peer would refuse it.</exception>
    public static void Write(HolePunch message, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(output);
        var size = message.CalculateSize();
        if (size > MaxMessageSize)
            throw new ArgumentException($"dcutr: a {message.Type} of {size} bytes is above the {MaxMessageSize}-byte limit peers apply", nameof(message));
        Varint.Write(output, (ulong)size);
        message.WriteTo(output);
    }

    /// <summary>Decodes one message body (the bytes after the length prefix) and checks it is a <paramref name="expected"/>.</summary>
    /// <exception cref="InvalidDataException">Too large, not a HolePunch, without its type, of an unknown type, or not the type expected.</exception>
    public static HolePunch Decode(ReadOnlySpan<byte> body, HolePunch.Types.Type expected)
    {
        if (body.Length > MaxMessageSize)
            throw new InvalidDataException($"dcutr: a message of {body.Length} bytes is above the limit of {MaxMessageSize}");
        HolePunch message;
        try
        {
            message = HolePunch.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"dcutr: the message is not a HolePunch: {e.Message}", e);
        }
        return Check(message, expected);
    }

    /// <summary>
    /// Reads one framed message from <paramref name="stream"/> and checks it is a <paramref name="expected"/>.
    /// Reads exactly the frame; the size is checked from the length prefix before the body is read.
    /// </summary>
    /// <exception cref="InvalidDataException">The frame or the message is malformed, or the stream ended before a whole message.</exception>
    public static async Task<HolePunch> ReadAsync(Stream stream, HolePunch.Types.Type expected, CancellationToken cancellationToken)
    {
        var message = await DelimitedMessages.ReadAsync(stream, HolePunch.Parser, MaxMessageSize, "dcutr", cancellationToken).ConfigureAwait(false)
            ?? throw new EndOfStreamException($"dcutr: the stream ended where a {expected} was due");
        return Check(message, expected);
    }

    /// <summary>
    /// The addresses of a CONNECT that <paramref name="canDial"/> accepts, in the order sent, once
    /// each: those that do not parse, relayed ones (a hole is punched to a direct address only) and
    /// those no transport of ours dials are left out, as go does.
    /// </summary>
    public static IReadOnlyList<Multiaddr> Addresses(HolePunch connect, Func<Multiaddr, bool> canDial)
    {
        ArgumentNullException.ThrowIfNull(connect);
        ArgumentNullException.ThrowIfNull(canDial);
        var addresses = new List<Multiaddr>();
        foreach (var bytes in connect.ObsAddrs)
        {
            if (Multiaddr.TryFromBytes(bytes.Span, out var address) && !address.Has(MultiaddrProtocol.P2pCircuit) && canDial(address) && !addresses.Contains(address))
                addresses.Add(address);
        }
        return addresses;
    }

    private static HolePunch Check(HolePunch message, HolePunch.Types.Type expected)
    {
        if (!message.HasType)
            throw new InvalidDataException($"dcutr: a message without its type where a {expected} was due");
        if (!Enum.IsDefined(message.Type))
            throw new InvalidDataException($"dcutr: a message of unknown type {(int)message.Type} where a {expected} was due");
        if (message.Type != expected)
            throw new InvalidDataException($"dcutr: a {message.Type} where a {expected} was due");
        return message;
    }
}
