using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// One muxed stream (the seed's <c>MuxedStream</c>): its inbound bytes as a <see cref="Source"/>,
/// its outbound bytes as a <see cref="Sink"/>, each to be run once. Backpressure reaches the remote:
/// inbound window is granted back only as the source is pulled, and a write is acknowledged (the
/// sink pulls again) only once the muxer has taken it within the remote's window.
/// </summary>
public sealed class MuxedStream
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _sourceTaken;
    private int _sinkTaken;

    internal MuxedStream(MuxedConnection connection, long id)
    {
        Connection = connection;
        Id = id;
    }

    /// <summary>The connection the stream runs on.</summary>
    public MuxedConnection Connection { get; }

    /// <summary>The muxer's stream ID, unique within the connection.</summary>
    public long Id { get; }

    /// <summary>
    /// Completes when the stream is gone: both directions closed, or reset (then it faults with
    /// <see cref="StreamResetException"/>), or its connection closed.
    /// </summary>
    public Task Completion => _completion.Task;

    internal void Complete(Exception? error)
    {
        if (error is null)
            _completion.TrySetResult();
        else if (_completion.TrySetException(error))
            _ = _completion.Task.Exception; // observed: a reset is an outcome, not a crash
    }

    /// <summary>
    /// The stream's inbound bytes. Completes when the remote half-closes; fails with
    /// <see cref="StreamResetException"/> on a reset. Cancelling it closes the read side.
    /// </summary>
    /// <exception cref="InvalidOperationException">On a second materialization.</exception>
    public Source<ByteString, NotUsed> Source => Akka.Streams.Dsl.Source.FromGraph(new MuxedStreamSource(this));

    /// <summary>
    /// Writes the stream's outbound bytes. Completing it half-closes the stream; failing it resets
    /// the stream.
    /// </summary>
    public Sink<ByteString, NotUsed> Sink => Akka.Streams.Dsl.Sink.FromGraph(new MuxedStreamSink(this));

    /// <summary>Half-closes: no more writes, the remote reads end-of-stream and may still write.</summary>
    public void CloseWrite() => Connection.Post(new ConnectionCommand.CompleteSink(Id));

    /// <summary>
    /// Stops reading: inbound data is discarded and no more window is granted. A read in progress,
    /// and every later one, fails with <see cref="StreamClosedException"/>.
    /// </summary>
    public void CloseRead() => Connection.Post(new ConnectionCommand.CloseRead(Id));

    /// <summary>Aborts both directions; the remote's reads and writes fail with a reset.</summary>
    public void Reset() => Connection.Post(new ConnectionCommand.ResetStream(Id, "reset locally"));

    /// <summary>
    /// The stream as a <see cref="System.IO.Stream"/> for plain code: reads take the inbound bytes,
    /// writes send, disposing half-closes and stops reading. Use it or <see cref="Source"/> and
    /// <see cref="Sink"/>, not both.
    /// </summary>
    public MuxedStreamAdapter AsStream() => new(this);

    internal void TakeSource()
    {
        if (Interlocked.Exchange(ref _sourceTaken, 1) != 0)
            throw new InvalidOperationException($"the source of stream {Id} can be run only once");
    }

    internal void TakeSink()
    {
        if (Interlocked.Exchange(ref _sinkTaken, 1) != 0)
            throw new InvalidOperationException($"the sink of stream {Id} can be run only once");
    }
}
