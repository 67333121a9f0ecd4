namespace Libp2p.Protocols.Relay;

/// <summary>The constants of circuit relay v2 (libp2p/specs relay/circuit-v2.md).</summary>
public static class CircuitRelay
{
    /// <summary>The protocol between clients and the relay: reservations and circuit requests.</summary>
    public const string HopProtocolId = "/libp2p/circuit/relay/0.2.0/hop";

    /// <summary>The protocol the relay opens to the target of a circuit.</summary>
    public const string StopProtocolId = "/libp2p/circuit/relay/0.2.0/stop";

    /// <summary>
    /// The resource-manager service every hop and stop stream is attached to, on the relay and on
    /// its clients (go-libp2p's <c>relayv2.ServiceName</c>, so the same limits configuration names it).
    /// </summary>
    public const string ServiceName = "libp2p.relay/v2";

    /// <summary>
    /// The largest hop or stop message accepted (prefix excluded): go's and js's limit. A reservation
    /// with a voucher and a few addresses is well under it.
    /// </summary>
    public const int MaxMessageSize = 4096;

    /// <summary>The spec's name of a status code, e.g. <c>NO_RESERVATION</c>; the number for a code the spec does not name.</summary>
    public static string NameOf(Pb.Status status) =>
        Pb.CircuitReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("Status")?.FindValueByNumber((int)status)?.Name
        ?? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A relay or its target refused, or answered with a status other than OK; <see cref="Status"/> is
/// the spec's code (e.g. <c>NO_RESERVATION</c>), the message says who refused what.
/// </summary>
public sealed class CircuitRelayException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CircuitRelayException(Pb.Status status, string message, Exception? inner = null) : base(message, inner) => Status = status;

    /// <summary>The status code the relay (or the target) answered, or would answer.</summary>
    public Pb.Status Status { get; }
}
