using System.Buffers;

namespace Libp2p.Protocols.Muxing;

/// <summary>
/// A stream muxer as a sans-IO state machine: it never touches a socket, a clock or a thread.
/// The connection stage feeds it decrypted bytes, asks it to frame outbound data, and drains the
/// frames it produced into the secure channel. Keeping the protocol logic free of I/O lets the same
/// code run inside an Akka.Streams stage, under a property test, and in a benchmark.
/// </summary>
/// <remarks>
/// Flow control is explicit: inbound data is reported as <see cref="MuxerEvent.Data"/>, and the
/// receive window is only granted back to the remote when the owner calls <see cref="Consumed"/>,
/// that is when the local reader has actually pulled the bytes. A slow reader therefore slows the
/// remote writer instead of filling memory. Not thread-safe: one owner drives it, and disposes it
/// when the connection is gone, which gives back whatever it reserved.
/// </remarks>
public interface IMuxerSession : IDisposable
{
    /// <summary>The protocol ID negotiated for this muxer, e.g. <c>/yamux/1.0.0</c>.</summary>
    string Protocol { get; }

    /// <summary>True once the session has failed or fully closed; no further input is accepted.</summary>
    bool IsClosed { get; }

    /// <summary>
    /// Decodes <paramref name="input"/> (any split of the byte stream is fine: partial frames are
    /// buffered) and appends what happened to <paramref name="events"/>. A protocol violation
    /// appends a <see cref="MuxerEvent.SessionFailed"/> and closes the session; it does not throw.
    /// Data for the stream whose data is the last event in a <see cref="List{T}"/> may be added to
    /// that event (a new one in its place): the caller takes the events and clears the list
    /// before it passes it again.
    /// </summary>
    void Receive(ReadOnlySpan<byte> input, ICollection<MuxerEvent> events);

    /// <summary>Opens an outbound stream; its opening frame is queued as output.</summary>
    /// <exception cref="MuxerException">The session is closed, going away, or at its stream limit.</exception>
    long OpenStream();

    /// <summary>
    /// Whether what the session reads is charged to its memory account in a way that is refused
    /// at a cost (mplex: unread data resets its stream, a frame held in part fails the session),
    /// so its connection reads only with memory approved ahead. yamux charges only window growth,
    /// which a refusal merely leaves as it is.
    /// </summary>
    bool ChargesReads => false;

    /// <summary>How many bytes <see cref="Send"/> may take for <paramref name="streamId"/> right now.</summary>
    int SendCapacity(long streamId);

    /// <summary>Frames up to <see cref="SendCapacity"/> bytes of <paramref name="data"/> for the stream.</summary>
    /// <returns>How many bytes were taken; the caller keeps the rest until <see cref="MuxerEvent.SendWindowOpened"/>.</returns>
    int Send(long streamId, ReadOnlySpan<byte> data);

    /// <summary>The local reader took <paramref name="bytes"/> of the stream's inbound data: grant window back.</summary>
    void Consumed(long streamId, int bytes);

    /// <summary>Half-closes the stream: no more local writes, the remote reads end-of-stream.</summary>
    void CloseWrite(long streamId);

    /// <summary>Stops reading: further inbound data for the stream is discarded (and not buffered).</summary>
    void CloseRead(long streamId);

    /// <summary>Aborts the stream in both directions; the remote sees a reset.</summary>
    void Reset(long streamId);

    /// <summary>
    /// Whether the session wants no more input for now: a stream's reader is behind and the muxer
    /// has no flow control to slow the remote (mplex). The caller stops reading the connection until
    /// this clears (as readers catch up, <see cref="Consumed"/>), or calls <see cref="ShedLaggards"/>
    /// after a grace period, as go-mplex does.
    /// </summary>
    bool InputPaused { get; }

    /// <summary>Resets every stream whose reader is still behind, so input can resume.</summary>
    void ShedLaggards(ICollection<MuxerEvent> events);

    /// <summary>
    /// Sends a liveness probe where the muxer has one; returns false if it has none or one is
    /// still unanswered. The answer arrives as <see cref="MuxerEvent.PingAnswered"/>.
    /// </summary>
    bool Ping();

    /// <summary>Closes the whole session gracefully (yamux: go-away), resetting nothing already open.</summary>
    void Close();

    /// <summary>True when frames are waiting to be written to the secure channel.</summary>
    bool HasOutput { get; }

    /// <summary>Moves every queued outbound frame into <paramref name="output"/>.</summary>
    void DrainOutput(IBufferWriter<byte> output);

    /// <summary>The length of the next queued frame, or -1 when none is queued.</summary>
    int PeekFrameLength();

    /// <summary>Moves exactly one whole frame into <paramref name="output"/>, so the caller can keep one frame per secure message.</summary>
    bool TryDequeueFrame(IBufferWriter<byte> output);

    /// <summary>The next queued frame, left in place (empty when none): lets the caller encrypt it without a copy.</summary>
    ReadOnlySpan<byte> PeekFrame();

    /// <summary>Removes the frame <see cref="PeekFrame"/> showed.</summary>
    void DropFrame();
}

/// <summary>What a <see cref="IMuxerSession"/> reports after <see cref="IMuxerSession.Receive"/> or a command.</summary>
public abstract record MuxerEvent
{
    private MuxerEvent() { }

    /// <summary>The remote opened a stream.</summary>
    public sealed record StreamOpened(long StreamId) : MuxerEvent;

    /// <summary>
    /// Bytes arrived on a stream: the first <paramref name="Length"/> bytes of
    /// <paramref name="Buffer"/>, a pooled array (so it may be longer). The receiver of the event
    /// owns it: it gives it back with <see cref="Release"/> once it has taken the bytes, or hands it
    /// on to whoever keeps them.
    /// </summary>
    public sealed record Data(long StreamId, byte[] Buffer, int Length) : MuxerEvent
    {
        /// <summary>Gives <see cref="Buffer"/> back to its pool; only once, and only by the last holder of the bytes.</summary>
        public void Release() => Transport.TransportBuffers.ReturnPooled(Buffer);

        /// <summary>The bytes that arrived.</summary>
        public ReadOnlyMemory<byte> Payload => Buffer.AsMemory(0, Length);

        /// <summary>
        /// Reports <paramref name="payload"/> as data of <paramref name="streamId"/>: appended to
        /// the event just before it when that is data of the same stream and both fit one
        /// transport array, else as a new event. A 64 KiB write crosses yamux as a full frame and
        /// a 29-byte one; arriving together they reach the reader as one chunk, which halves the
        /// hand-offs to the reader and its requests for more.
        /// </summary>
        internal static void Add(ICollection<MuxerEvent> events, long streamId, ReadOnlySpan<byte> payload)
        {
            if (events is List<MuxerEvent> { Count: > 0 } list && list[^1] is Data last && last.StreamId == streamId
                && last.Length + payload.Length <= Transport.TransportBuffers.Size)
            {
                var buffer = last.Buffer;
                if (buffer.Length - last.Length < payload.Length)
                {
                    buffer = Transport.TransportBuffers.Rent();
                    last.Buffer.AsSpan(0, last.Length).CopyTo(buffer);
                    last.Release();
                }
                payload.CopyTo(buffer.AsSpan(last.Length));
                list[^1] = new Data(streamId, buffer, last.Length + payload.Length);
                return;
            }
            events.Add(Rent(streamId, payload));
        }

        /// <summary>Copies <paramref name="payload"/> into a pooled array (the muxer's input buffer is reused).</summary>
        internal static Data Rent(long streamId, ReadOnlySpan<byte> payload)
        {
            var buffer = Transport.TransportBuffers.RentAtLeast(payload.Length);
            payload.CopyTo(buffer);
            return new Data(streamId, buffer, payload.Length);
        }
    }

    /// <summary>The remote half-closed the stream: its reader sees end-of-stream.</summary>
    public sealed record RemoteClosed(long StreamId) : MuxerEvent;

    /// <summary>The stream was reset, by the remote or because of a local protocol decision (e.g. an overflowing mplex buffer).</summary>
    public sealed record StreamReset(long StreamId, string Reason) : MuxerEvent;

    /// <summary>Both directions of the stream are closed and its state is gone.</summary>
    public sealed record StreamClosed(long StreamId) : MuxerEvent;

    /// <summary>The send window of a stream grew: a writer waiting on <see cref="IMuxerSession.SendCapacity"/> may go on.</summary>
    public sealed record SendWindowOpened(long StreamId) : MuxerEvent;

    /// <summary>The ping this side sent was answered; the owner, which keeps the clock, times it.</summary>
    public sealed record PingAnswered : MuxerEvent;

    /// <summary>The remote will open no more streams (yamux go-away); the code says why.</summary>
    public sealed record RemoteGoingAway(uint Code) : MuxerEvent;

    /// <summary>The session broke a rule or was broken by the remote; it is closed.</summary>
    public sealed record SessionFailed(MuxerException Error) : MuxerEvent;
}

/// <summary>A muxer protocol violation or a refused muxer command.</summary>
public sealed class MuxerException : Exception
{
    /// <summary>Creates the exception with the reason text.</summary>
    public MuxerException(string message) : base(message) { }

    /// <summary>Creates the exception with the reason text and its cause.</summary>
    public MuxerException(string message, Exception inner) : base(message, inner) { }
}
