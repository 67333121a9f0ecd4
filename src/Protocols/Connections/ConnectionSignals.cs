using Akka.IO;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// What stream handles and stream stages ask of the connection stage. They travel through the
/// stage's async callback, so the connection's state is only ever touched by its own stage.
/// </summary>
internal abstract record ConnectionCommand
{
    private ConnectionCommand() { }

    public sealed record OpenStream(TaskCompletionSource<MuxedStream> Opened) : ConnectionCommand;
    /// <summary>A reader attaches; one with <paramref name="Chunks"/> gets inbound bytes there, in their pooled arrays, and the rest as signals.</summary>
    public sealed record AttachSource(long StreamId, Action<StreamSignal> Signal, IChunkReader? Chunks = null) : ConnectionCommand;
    public sealed record PullSource(long StreamId) : ConnectionCommand;
    public sealed record CancelSource(long StreamId) : ConnectionCommand;
    /// <summary>The owner stops reading (<c>CloseRead</c>): unlike a source's cancel, whoever reads is told.</summary>
    public sealed record CloseRead(long StreamId) : ConnectionCommand;
    public sealed record AttachSink(long StreamId, Action<StreamSignal> Signal) : ConnectionCommand;
    /// <summary>Bytes to send; <paramref name="Pooled"/>, the array under them (from the transport's pool or the shared one), goes back once the muxer took them.</summary>
    public sealed record Write(long StreamId, ReadOnlyMemory<byte> Bytes, byte[]? Pooled = null) : ConnectionCommand;
    public sealed record CompleteSink(long StreamId) : ConnectionCommand;
    public sealed record ResetStream(long StreamId, string Reason) : ConnectionCommand;
    public sealed record Ping(TaskCompletionSource<TimeSpan> Answered) : ConnectionCommand;
    public sealed record Close : ConnectionCommand;
    public sealed record Abort(Exception Reason) : ConnectionCommand;
}

/// <summary>
/// A reader that takes a stream's inbound bytes in the pooled arrays they arrived in (the Stream
/// adapter): no record per chunk. Called on the connection stage's thread, only after the reader
/// pulled; the reader gives the array back to <see cref="Transport.TransportBuffers"/> once it
/// copied the bytes out.
/// </summary>
internal interface IChunkReader
{
    /// <summary>The first <paramref name="length"/> bytes of <paramref name="buffer"/> arrived.</summary>
    void OnChunk(byte[] buffer, int length);
}

/// <summary>What the connection stage tells a stream's source or sink stage.</summary>
internal abstract record StreamSignal
{
    private StreamSignal() { }

    /// <summary>
    /// Inbound bytes for the source to push, in the pooled arrays they arrived in, oldest first;
    /// sent only after the source pulled. The source copies them out and gives the arrays back.
    /// </summary>
    public sealed record Chunks(Muxing.MuxerEvent.Data[] Arrived) : StreamSignal;

    /// <summary>The remote closed its write side: the source completes.</summary>
    public sealed record End : StreamSignal;

    /// <summary>The muxer took the sink's <paramref name="Writes"/> oldest writes in flight: it may pull as many more.</summary>
    public sealed record WriteAccepted(int Writes) : StreamSignal;

    /// <summary>The stream was reset or its connection went away.</summary>
    public sealed record Failed(Exception Reason) : StreamSignal;

    public static readonly StreamSignal EndOfStream = new End();
    private static readonly StreamSignal[] Accepted = [.. Enumerable.Range(0, MuxedStreamSink.WritesInFlight + 1).Select(n => new WriteAccepted(n))];

    /// <summary>That <paramref name="writes"/> writes were taken, without a new record for the usual counts.</summary>
    public static StreamSignal AcceptedWrites(int writes) => writes < Accepted.Length ? Accepted[writes] : new WriteAccepted(writes);
}

/// <summary>The stream was reset, by the remote or locally; reads and writes on it fail.</summary>
public sealed class StreamResetException : IOException
{
    /// <summary>Creates the exception with the reason text.</summary>
    public StreamResetException(string message) : base(message) { }
}

/// <summary>
/// The stream's side was closed here (<c>CloseRead</c>, or the whole stream closed and let go):
/// a read in progress and every later one fail with it, not with the end of the stream, as the
/// seed's <c>CloseRead</c> asks.
/// </summary>
public sealed class StreamClosedException : IOException
{
    /// <summary>Creates the exception with the reason text.</summary>
    public StreamClosedException(string message) : base(message) { }
}

/// <summary>The connection carrying a stream closed or failed; the inner exception says why.</summary>
public sealed class ConnectionClosedException : IOException
{
    /// <summary>Creates the exception with the reason text.</summary>
    public ConnectionClosedException(string message) : base(message) { }

    /// <summary>Creates the exception with the reason text and its cause.</summary>
    public ConnectionClosedException(string message, Exception inner) : base(message, inner) { }
}
