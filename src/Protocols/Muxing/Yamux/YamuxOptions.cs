using System.Diagnostics;

namespace Libp2p.Protocols.Muxing.Yamux;

/// <summary>Yamux limits and windows; the defaults are go-yamux's as go-libp2p configures it.</summary>
public sealed record YamuxOptions
{
    /// <summary>The default options.</summary>
    public static YamuxOptions Default { get; } = new();

    /// <summary>The protocol's fixed initial stream window: 256 KiB.</summary>
    public const uint InitialStreamWindow = 256 * 1024;

    /// <summary>How far a stream's receive window may grow by auto-tuning (go-libp2p: 16 MiB).</summary>
    public uint MaxStreamWindow { get; init; } = 16 * 1024 * 1024;

    /// <summary>Streams open at once that the remote opened; more are reset (go-yamux: 1000).</summary>
    public int MaxIncomingStreams { get; init; } = 1000;

    /// <summary>
    /// The largest data payload this side puts in one frame: 65,507 bytes keeps a frame with its
    /// 12-byte header inside one Noise message (65,519 bytes of plaintext).
    /// </summary>
    public int MaxFramePayload { get; init; } = 65_507;

    /// <summary>
    /// Ping answers queued but not yet read by the remote; one more fails the session (the remote
    /// sent pings without reading). go-yamux keeps 32 and drops the rest; a peer that sends this
    /// many without reading any is not keeping a connection alive, it is filling our memory.
    /// </summary>
    public int MaxQueuedPingAnswers { get; init; } = 256;

    /// <summary>
    /// Frames queued in answer to the remote (stream acknowledgements, window updates, refusing
    /// resets, ping answers) and not yet read by it; one more fails the session. 4096 headers are
    /// 48 KiB on the wire.
    /// </summary>
    public int MaxQueuedAnswers { get; init; } = 4096;

    /// <summary>Where window growth is reserved; when it refuses, the window stays as it is. Null: grow freely.</summary>
    public IMemoryAccount? Memory { get; init; }

    /// <summary>A monotonic clock in <see cref="Stopwatch"/> ticks, for window auto-tuning; injectable for tests.</summary>
    public Func<long> Clock { get; init; } = Stopwatch.GetTimestamp;
}
