using System.Buffers;
using Libp2p.Actors.Connections;

namespace Libp2p.Host.Services;

/// <summary>
/// The echo protocol (<c>/echo/1.0.0</c>), as the libp2p examples and interop tests use it: the
/// listener writes back every byte it reads and closes its side when the dialer closes its own.
/// </summary>
public static class EchoService
{
    /// <summary>The protocol ID.</summary>
    public const string ProtocolId = "/echo/1.0.0";

    private const int BufferSize = 64 * 1024;

    /// <summary>Serves one inbound stream: copies what it reads to what it writes, then half-closes.</summary>
    public static async Task ServeAsync(StreamHandle stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var io = ServiceStreams.WithIdleTimeout(stream);
        while (true)
        {
            // Wait for bytes without a buffer: an idle echo stream holds none (CopyToAsync would hold 64 KiB).
            await io.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                var read = await io.ReadAsync(buffer).ConfigureAwait(false);
                if (read == 0)
                    break;
                await io.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        stream.CloseWrite();
    }

    /// <summary>
    /// Writes <paramref name="payload"/> and closes the write side while reading what comes back,
    /// then checks it is the same bytes.
    /// </summary>
    /// <returns>The time from the first byte written to the last byte read.</returns>
    /// <exception cref="InvalidDataException">Other bytes, or another number of them, came back.</exception>
    public static Task<TimeSpan> RunAsync(StreamHandle stream, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        ServiceStreams.ClientAsync(stream, async io =>
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            // Read while writing: the echo flows back as it is written, and windows are finite.
            var reading = ReadBackAsync(io, payload, cancellationToken);
            try
            {
                for (var offset = 0; offset < payload.Length; offset += BufferSize)
                    await io.WriteAsync(payload.Slice(offset, Math.Min(BufferSize, payload.Length - offset)), cancellationToken).ConfigureAwait(false);
                stream.CloseWrite();
            }
            catch
            {
                // The reset that follows fails the read too; its error is not the one to report.
                _ = reading.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                throw;
            }
            await reading.ConfigureAwait(false);
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
            stream.Close();
            return elapsed;
        });

    private static async Task ReadBackAsync(Stream io, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        var got = 0;
        while (true)
        {
            var read = await io.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                break;
            if (got + read > expected.Length)
                throw new InvalidDataException($"echo: more than the {expected.Length} bytes sent came back");
            if (!expected.Span.Slice(got, read).SequenceEqual(buffer.AsSpan(0, read)))
                throw new InvalidDataException($"echo: the bytes that came back differ from those sent, at offset {got} or after");
            got += read;
        }
        if (got != expected.Length)
            throw new InvalidDataException($"echo: {got} of the {expected.Length} bytes sent came back");
    }
}
