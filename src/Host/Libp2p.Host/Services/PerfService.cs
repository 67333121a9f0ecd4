using System.Buffers.Binary;
using System.Diagnostics;
using Libp2p.Actors.Connections;

namespace Libp2p.Host.Services;

/// <summary>What a perf run moved and how long each half took.</summary>
/// <param name="Uploaded">Bytes sent to the server.</param>
/// <param name="UploadTime">From the header to the close of our write side.</param>
/// <param name="Downloaded">Bytes the server sent back.</param>
/// <param name="DownloadTime">From the close of our write side to the server's end of stream.</param>
public sealed record PerfResult(long Uploaded, TimeSpan UploadTime, long Downloaded, TimeSpan DownloadTime)
{
    /// <summary>Upload throughput in bits per second (0 for an empty upload).</summary>
    public double UploadBitsPerSecond => Rate(Uploaded, UploadTime);

    /// <summary>Download throughput in bits per second (0 for an empty download).</summary>
    public double DownloadBitsPerSecond => Rate(Downloaded, DownloadTime);

    private static double Rate(long bytes, TimeSpan time) => bytes == 0 || time <= TimeSpan.Zero ? 0 : bytes * 8 / time.TotalSeconds;
}

/// <summary>How far a perf run has got: bytes so far in each direction.</summary>
public readonly record struct PerfProgress(long Uploaded, long Downloaded);

/// <summary>
/// The libp2p perf protocol (<c>/perf/1.0.0</c>, the libp2p perf spec): the client writes the
/// number of bytes it wants back as a big-endian u64, uploads its bytes and closes its write side;
/// the server reads to the end, then sends the bytes asked for and closes.
/// </summary>
public static class PerfService
{
    /// <summary>The protocol ID.</summary>
    public const string ProtocolId = "/perf/1.0.0";

    private const int BlockSize = 64 * 1024;

    // One block of zeros serves every write: perf measures the path, not the payload.
    private static readonly ReadOnlyMemory<byte> Block = new byte[BlockSize];

    /// <summary>Serves one inbound perf stream.</summary>
    /// <exception cref="InvalidDataException">The stream ended inside the 8-byte header.</exception>
    public static async Task ServeAsync(StreamHandle stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var io = ServiceStreams.WithIdleTimeout(stream);
        var header = new byte[8];
        var read = await io.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false).ConfigureAwait(false);
        if (read < header.Length)
            throw new InvalidDataException($"perf: the stream ended after {read} of the 8 header bytes");
        var download = BinaryPrimitives.ReadUInt64BigEndian(header);
        if (download > long.MaxValue)
            throw new InvalidDataException($"perf: {download} bytes asked for is more than can be sent");
        await DrainAsync(io, null, CancellationToken.None).ConfigureAwait(false);
        await SendAsync(io, (long)download, null, CancellationToken.None).ConfigureAwait(false);
        stream.CloseWrite();
    }

    /// <summary>Runs one perf exchange on <paramref name="stream"/>: uploads, then downloads.</summary>
    /// <exception cref="InvalidDataException">The server sent another number of bytes than asked for.</exception>
    public static Task<PerfResult> RunAsync(StreamHandle stream, long upload, long download, IProgress<PerfProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(upload);
        ArgumentOutOfRangeException.ThrowIfNegative(download);
        return ServiceStreams.ClientAsync(stream, async io =>
        {
            var header = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(header, (ulong)download);
            var start = Stopwatch.GetTimestamp();
            await io.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            var uploaded = new Progress(progress);
            await SendAsync(io, upload, uploaded, cancellationToken).ConfigureAwait(false);
            stream.CloseWrite();
            var uploadTime = Stopwatch.GetElapsedTime(start);
            var downloadStart = Stopwatch.GetTimestamp();
            var downloaded = await DrainAsync(io, uploaded, cancellationToken).ConfigureAwait(false);
            var downloadTime = Stopwatch.GetElapsedTime(downloadStart);
            stream.Close();
            if (downloaded != download)
                throw new InvalidDataException($"perf: the server sent {downloaded} bytes, {download} were asked for");
            return new PerfResult(upload, uploadTime, downloaded, downloadTime);
        });
    }

    private static async Task SendAsync(Stream io, long count, Progress? progress, CancellationToken cancellationToken)
    {
        for (long sent = 0; sent < count;)
        {
            var size = (int)Math.Min(BlockSize, count - sent);
            await io.WriteAsync(Block[..size], cancellationToken).ConfigureAwait(false);
            sent += size;
            progress?.Upload(sent);
        }
    }

    private static async Task<long> DrainAsync(Stream io, Progress? progress, CancellationToken cancellationToken)
    {
        var buffer = new byte[BlockSize];
        long total = 0;
        int read;
        while ((read = await io.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
            progress?.Download(total);
        }
        return total;
    }

    /// <summary>Reports at most every 1 MiB, so a progress bar costs nothing measurable.</summary>
    private sealed class Progress(IProgress<PerfProgress>? sink)
    {
        private const long Step = 1 << 20;
        private long _uploaded;
        private long _reported = -Step;

        public void Upload(long bytes)
        {
            _uploaded = bytes;
            Report(bytes, 0);
        }

        public void Download(long bytes) => Report(_uploaded + bytes, bytes);

        private void Report(long total, long downloaded)
        {
            if (sink is null || total - _reported < Step)
                return;
            _reported = total;
            sink.Report(new PerfProgress(_uploaded, downloaded));
        }
    }
}
