using Libp2p.Actors.Connections;

namespace Libp2p.Host.Services;

/// <summary>
/// What every service does with its streams: a stream that stays silent too long is given up, and
/// a client exchange that fails resets its stream at once, so a stalled or misbehaving peer costs
/// one stream for a bounded time, never our memory or a reservation.
/// </summary>
internal static class ServiceStreams
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

    /// <summary>Runs a client exchange on <paramref name="stream"/>; if it fails or is cancelled, the stream is reset.</summary>
    public static async Task<T> ClientAsync<T>(StreamHandle stream, Func<Stream, Task<T>> exchange)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            return await exchange(WithIdleTimeout(stream)).ConfigureAwait(false);
        }
        catch
        {
            stream.Reset();
            throw;
        }
    }
}
