using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Libp2p.Actors.Connections;

namespace Libp2p.Host.Services;

/// <summary>
/// The libp2p ping protocol (<c>/ipfs/ping/1.0.0</c>): the dialer writes 32 random bytes, the
/// listener writes them back, and the time between is the round trip; repeated on one stream.
/// </summary>
public static class PingService
{
    /// <summary>The protocol ID.</summary>
    public const string ProtocolId = "/ipfs/ping/1.0.0";

    /// <summary>The size of each ping.</summary>
    public const int PayloadSize = 32;

    /// <summary>How long the listener waits for the next ping before it gives the stream up (go-libp2p: 60 s).</summary>
    public static readonly TimeSpan IdleTimeout = ServiceStreams.Idle;

    /// <summary>Serves one inbound ping stream: echoes each payload until the dialer closes its side.</summary>
    /// <exception cref="InvalidDataException">The stream ended inside a payload.</exception>
    public static async Task ServeAsync(StreamHandle stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var io = ServiceStreams.WithIdleTimeout(stream);
        var payload = new byte[PayloadSize];
        while (await ReadPayloadAsync(io, payload, CancellationToken.None).ConfigureAwait(false))
            await io.WriteAsync(payload).ConfigureAwait(false);
        stream.CloseWrite();
    }

    /// <summary>Sends <paramref name="count"/> pings on <paramref name="stream"/>, yielding each round-trip time, then closes it.</summary>
    /// <exception cref="InvalidDataException">The listener answered with other bytes, or closed early.</exception>
    public static async IAsyncEnumerable<TimeSpan> RunAsync(StreamHandle stream, int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var io = ServiceStreams.WithIdleTimeout(stream);
        var sent = new byte[PayloadSize];
        var received = new byte[PayloadSize];
        var finished = false;
        try
        {
            for (var i = 0; i < count; i++)
            {
                RandomNumberGenerator.Fill(sent);
                var start = Stopwatch.GetTimestamp();
                await io.WriteAsync(sent, cancellationToken).ConfigureAwait(false);
                if (!await ReadPayloadAsync(io, received, cancellationToken).ConfigureAwait(false))
                    throw new InvalidDataException("ping: the peer closed the stream instead of answering");
                var rtt = Stopwatch.GetElapsedTime(start);
                if (!sent.AsSpan().SequenceEqual(received))
                    throw new InvalidDataException("ping: the peer answered with other bytes than it was sent");
                yield return rtt;
            }
            finished = true;
        }
        finally
        {
            // A failure, or a caller that stopped enumerating early, ends the stream at once.
            if (finished)
                stream.Close();
            else
                stream.Reset();
        }
    }

    /// <summary>Reads one payload; false when the stream ended cleanly before it.</summary>
    private static async Task<bool> ReadPayloadAsync(Stream io, byte[] payload, CancellationToken cancellationToken)
    {
        var read = await io.ReadAtLeastAsync(payload, PayloadSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read switch
        {
            0 => false,
            PayloadSize => true,
            _ => throw new InvalidDataException($"ping: the stream ended after {read} of {PayloadSize} bytes"),
        };
    }
}
