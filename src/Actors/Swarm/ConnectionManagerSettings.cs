using Libp2p.Actors.Resources;

namespace Libp2p.Actors.Swarm;

/// <summary>
/// What the <see cref="ConnectionManagerActor"/> keeps the node to (go-libp2p's <c>BasicConnMgr</c>
/// options); immutable, overridden with <c>with { … }</c>.
/// </summary>
/// <param name="LowWater">A trim closes peers until this many connections of peers it may close are left.</param>
/// <param name="HighWater">A trim starts once the node holds this many connections.</param>
public sealed record ConnectionManagerSettings(int LowWater, int HighWater)
{
    /// <summary>
    /// 96 and 128: go-libp2p's 160/192 would exceed the system connection limit the scaled
    /// resource manager gives a machine with under a GiB to spare (128), and the two must not fight.
    /// </summary>
    public static ConnectionManagerSettings Default { get; } = new(96, 128);

    /// <summary>A peer first seen within this is never trimmed (go-libp2p: 1 minute).</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Automatic trims run at most once per this (go-libp2p: 10 seconds); <see cref="ConnectionManagerProtocol.TrimOpenConns"/> is not held back.</summary>
    public TimeSpan SilencePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often decaying tags are looked at; a tag's interval is rounded up to a multiple of it (go-libp2p: 1 minute).</summary>
    public TimeSpan DecayResolution { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The reason these settings cannot run beside <paramref name="limits"/>, or null when they can:
    /// watermarks out of order, or a high watermark above the resource manager's system connection
    /// limit (go-libp2p#1640: the resource manager would refuse connections the manager means to
    /// keep, long before any trim). The message names both numbers.
    /// </summary>
    public string? Conflict(ResourceLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (LowWater < 0 || HighWater <= 0)
            return $"connection-manager watermarks must be positive: low-water {LowWater}, high-water {HighWater}";
        if (LowWater > HighWater)
            return $"connection-manager low-water {LowWater} is above high-water {HighWater}";
        if (GracePeriod < TimeSpan.Zero || SilencePeriod < TimeSpan.Zero || DecayResolution <= TimeSpan.Zero)
            return $"connection-manager periods must not be negative (grace {GracePeriod}, silence {SilencePeriod}) and the decay resolution must be positive ({DecayResolution})";
        var system = limits.System.Conns;
        if (HighWater > system)
            return $"connection-manager high-water {HighWater} exceeds the resource manager's system connection limit {system}: " +
                "connections past the limit would be refused before any trim; lower high-water or raise resource-manager.system.conns";
        return null;
    }

    /// <summary>Throws when <see cref="Conflict"/> finds one.</summary>
    /// <exception cref="ArgumentException">The settings conflict with <paramref name="limits"/>; the message says how.</exception>
    public void Validate(ResourceLimits limits)
    {
        if (Conflict(limits) is { } conflict)
            throw new ArgumentException(conflict, nameof(limits));
    }
}
