namespace Libp2p.Actors.AutoNat;

/// <summary>
/// How the <see cref="AddressManagerActor"/> keeps what peers tell us about our addresses: how
/// long an observation counts, how many it holds, and how many observers it takes to judge the NAT.
/// Immutable; overridden with <c>with { … }</c>.
/// </summary>
public sealed record AddressManagerSettings
{
    /// <summary>The defaults.</summary>
    public static AddressManagerSettings Default { get; } = new();

    /// <summary>An observation not renewed (by identify or its push) within this is forgotten (go-libp2p's <c>OwnObservedAddrTTL</c>: 30 minutes).</summary>
    public TimeSpan ObservationTtl { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The most observations held in all; the least recently seen goes first.</summary>
    public int MaxObservations { get; init; } = 256;

    /// <summary>The most observations one observer group (an IPv4 address, an IPv6 /56) may hold, so one peer cannot crowd out the others.</summary>
    public int MaxObservationsPerObserver { get; init; } = 4;

    /// <summary>Observer groups needed, per transport, before the NAT type is judged; below it the type is <see cref="Network.NATDeviceType.Unknown"/>.</summary>
    public int NatTypeMinObservers { get; init; } = 4;

    /// <summary>An AutoNAT result about an address counts this long; then the address is unknown again until checked anew.</summary>
    public TimeSpan ResultTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The most addresses with an AutoNAT result held; the oldest result goes first.</summary>
    public int MaxResults { get; init; } = 64;

    /// <summary>The clock observations and results age by.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Why these settings cannot work, or null.</summary>
    public string? Problem() =>
        ObservationTtl <= TimeSpan.Zero || ResultTtl <= TimeSpan.Zero ? "observation and result lifetimes must be positive"
        : MaxObservations < 1 || MaxObservationsPerObserver < 1 || MaxResults < 1 ? "observation and result caps must be at least 1"
        : NatTypeMinObservers < 1 ? "the NAT type needs at least one observer"
        : null;
}
