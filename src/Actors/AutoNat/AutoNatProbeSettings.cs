namespace Libp2p.Actors.AutoNat;

/// <summary>
/// When the <see cref="AutoNatProbeActor"/> asks AutoNAT v2 servers about this node's addresses.
/// Immutable; overridden with <c>with { … }</c>.
/// </summary>
public sealed record AutoNatProbeSettings
{
    /// <summary>The defaults.</summary>
    public static AutoNatProbeSettings Default { get; } = new();

    /// <summary>The first round after start, and after a new server appears (identify has told us it serves AutoNAT v2).</summary>
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The pause between rounds while there is work (unchecked addresses, too few servers asked); also the first wait when no server is known, doubling up to <see cref="Interval"/>.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often every address is checked again once the verdict stands (go-libp2p v1's refresh: 15 minutes).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>A server that failed a check (rejected, timed out, broke the protocol; E_DIAL_REFUSED is an answer, not a failure) is not asked again for this long, doubling per failure in a row up to 16 times.</summary>
    public TimeSpan ServerBackoff { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The deadline of one check: request, dial data, the server's dial-back and its answer. Longer than a server's dial-back timeout (10 s by default).</summary>
    public TimeSpan CheckTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Distinct servers asked per <see cref="Interval"/> before the prober rests; the reachability threshold.</summary>
    public int Confidence { get; init; } = 3;

    /// <summary>The clock server backoff and intervals are measured by.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Why these settings cannot work, or null.</summary>
    public string? Problem() =>
        FirstDelay < TimeSpan.Zero || RetryInterval <= TimeSpan.Zero || Interval < RetryInterval || ServerBackoff <= TimeSpan.Zero || CheckTimeout <= TimeSpan.Zero
            ? "probe delays must be positive, and the interval at least the retry interval"
            : Confidence < 1 ? "probe confidence must be at least 1" : null;
}
