namespace Libp2p.Protocols.Muxing.Mplex;

/// <summary>mplex limits; the defaults follow the spec and js-libp2p's mplex.</summary>
public sealed record MplexOptions
{
    /// <summary>The default options.</summary>
    public static MplexOptions Default { get; } = new();

    /// <summary>The largest message accepted (the spec's 1 MiB).</summary>
    public int MaxMessageSize { get; init; } = 1024 * 1024;

    /// <summary>
    /// Unread bytes a stream may hold (js uses 4 MiB). mplex has no flow control: past this the
    /// session pauses its input (<see cref="IMuxerSession.InputPaused"/>) so the reader can catch up,
    /// and a reader still behind after a grace period (the connection stage's <c>LaggardGrace</c>) loses its stream, as go-mplex does.
    /// A stream more than twice this far behind is reset at once.
    /// </summary>
    public int MaxStreamBuffer { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Unread bytes all streams together may hold (go-libp2p's connection scope allows 32 MiB).
    /// Data that would pass it resets the stream it came for, as a refused <see cref="Memory"/> reservation does.
    /// </summary>
    public long MaxSessionBuffer { get; init; } = 32 * 1024 * 1024;

    /// <summary>
    /// Where unread inbound bytes are charged, from when they arrive until the reader took them
    /// (<see cref="IMuxerSession.Consumed"/>) or the stream is gone. mplex has no flow control, so a
    /// refusal resets the stream the data came for (go-mplex closes the whole connection when its
    /// memory manager refuses; resetting one stream spares the others). Null: only the bounds above apply.
    /// </summary>
    public IMemoryAccount? Memory { get; init; }

    /// <summary>
    /// Resets of streams the remote opened (refused, over the owner's backlog, or behind) queued but
    /// not yet read by the remote; past this the session fails, as yamux does with its answers.
    /// </summary>
    public int MaxQueuedAnswers { get; init; } = 4096;

    /// <summary>Streams open at once that the remote opened; more are reset (js: 1024).</summary>
    public int MaxIncomingStreams { get; init; } = 1024;

    /// <summary>The largest frame this side writes, header included: one Noise message's plaintext.</summary>
    public int MaxFrameSize { get; init; } = 65_519;
}
