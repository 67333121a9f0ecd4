namespace Libp2p.Actors.Relay;

/// <summary>
/// How much a node serving as a circuit relay gives away; go-libp2p's defaults (relay v2
/// <c>DefaultResources</c>). Immutable; overridden with <c>with { … }</c>.
/// </summary>
public sealed record RelayServiceSettings
{
    /// <summary>The defaults.</summary>
    public static RelayServiceSettings Default { get; } = new();

    /// <summary>How long a reservation lasts before the client must refresh it (go: 1 hour).</summary>
    public TimeSpan ReservationTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How many peers may hold a reservation at once (go: 128).</summary>
    public int MaxReservations { get; init; } = 128;

    /// <summary>How many circuits may run at once from or to one peer (go: 16).</summary>
    public int MaxCircuitsPerPeer { get; init; } = 16;

    /// <summary>The longest a circuit may stay open; zero for no limit (go: 2 minutes).</summary>
    public TimeSpan CircuitDuration { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The most bytes a circuit carries in each direction; zero for no limit (go: 128 KiB).</summary>
    public long CircuitData { get; init; } = 128 * 1024;

    /// <summary>The deadline of each hop or stop exchange: a peer silent longer loses its stream (go: 1 minute for the hop stream, 30 s to reach the target).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock reservations expire by; injectable so expiry is testable without waiting.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The limit told to clients: null when neither duration nor data is limited.</summary>
    internal Libp2p.Protocols.Relay.Pb.Limit? Limit =>
        CircuitDuration <= TimeSpan.Zero && CircuitData <= 0
            ? null
            : new Libp2p.Protocols.Relay.Pb.Limit
            {
                Duration = (uint)Math.Min(uint.MaxValue, Math.Max(0, Math.Ceiling(CircuitDuration.TotalSeconds))),
                Data = (ulong)Math.Max(0, CircuitData),
            };
}
