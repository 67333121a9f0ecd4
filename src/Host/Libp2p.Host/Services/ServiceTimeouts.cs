using Libp2p.Actors.Connections;

namespace Libp2p.Host.Services;

/// <summary>How long a served stream may stay silent: a peer that stalls mid-exchange loses its stream, not our memory.</summary>
internal static class ServiceTimeouts
{
    /// <summary>go-libp2p's ping gives up after 60 s without a ping; the other services do the same per read and write.</summary>
    public static readonly TimeSpan Idle = TimeSpan.FromSeconds(60);

    /// <summary>Applies <see cref="Idle"/> to each read and write of <paramref name="stream"/>.</summary>
    public static Stream WithIdleTimeout(StreamHandle stream)
    {
        var io = stream.Stream;
        io.ReadTimeout = io.WriteTimeout = (int)Idle.TotalMilliseconds;
        return io;
    }
}
