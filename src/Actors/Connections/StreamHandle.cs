using Akka;
using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;

namespace Libp2p.Actors.Connections;

/// <summary>
/// A negotiated stream (the seed's <c>Stream</c>): its protocol, its connection, its statistics,
/// and its bytes, as a <see cref="System.IO.Stream"/> (<see cref="Stream"/>) or as a graph source
/// and sink (<see cref="Source"/>, <see cref="Sink"/>); use one or the other.
/// </summary>
public sealed class StreamHandle
{
    private readonly MuxedStream _muxed;

    internal StreamHandle(StreamId id, string protocol, ConnectionInfo connection, Stats stat, MuxedStream muxed, MuxedStreamAdapter stream, StreamManagementScope scope)
    {
        Scope = scope;
        Id = id;
        Protocol = protocol;
        Connection = connection;
        Stat = stat;
        _muxed = muxed;
        Stream = stream;
    }

    /// <summary>Unique within this host during this run (the seed's <c>ID()</c>).</summary>
    public StreamId Id { get; }

    /// <summary>The negotiated protocol (the seed's <c>Protocol()</c>).</summary>
    public string Protocol { get; private set; }

    /// <summary>The connection the stream runs on (the seed's <c>Conn()</c>).</summary>
    public ConnectionInfo Connection { get; }

    /// <summary>Direction, opening time, transience (the seed's <c>Stat()</c>).</summary>
    public Stats Stat { get; }

    /// <summary>
    /// The stream's resource scope (the seed's <c>Scope()</c>): a service attaches the stream to its
    /// own scope with <see cref="StreamManagementScope.SetServiceAsync"/>, and reserves what it will
    /// hold for the stream with <see cref="ResourceScopeSpan.ReserveMemoryAsync"/>. It is released
    /// when the stream ends; a handler never calls <see cref="ResourceScopeSpan.Done"/> itself.
    /// </summary>
    public StreamManagementScope Scope { get; }

    /// <summary>
    /// Charges the stream to <paramref name="service"/>'s scope (the seed's
    /// <c>Scope().SetService</c>); when the service is full, the stream is reset and the refusal thrown.
    /// </summary>
    /// <exception cref="ResourceLimitExceededException">The service's scope cannot take the stream.</exception>
    /// <exception cref="StreamResetException">The stream was reset meanwhile (its scope went with it).</exception>
    /// <exception cref="ResourceScopeClosedException">The stream ended meanwhile.</exception>
    public async Task SetServiceAsync(string service)
    {
        var set = Scope.SetServiceAsync(service);
        // A stream that ends takes its scope's actor with it, and a request that reaches a stopped
        // actor is never answered: the stream's end is the answer then, not a timeout much later.
        if (await Task.WhenAny(set, Completion).ConfigureAwait(false) != set && !set.IsCompleted)
        {
            await Completion.ConfigureAwait(false);
            throw new ResourceScopeClosedException(Scope.Name);
        }
        try
        {
            await set.ConfigureAwait(false);
        }
        catch (ResourceLimitExceededException)
        {
            Reset();
            throw;
        }
    }

    /// <summary>The bytes as a <see cref="System.IO.Stream"/>; <c>ReadTimeout</c> and <c>WriteTimeout</c> are the seed's deadlines.</summary>
    public MuxedStreamAdapter Stream { get; }

    /// <summary>
    /// The inbound bytes as a source: the muxer's own stage, with whatever the negotiation left
    /// unread first. Taking it ends reading through <see cref="Stream"/>; it can be taken once.
    /// </summary>
    public Source<ByteString, NotUsed> Source => Stream.RemainingSource();

    /// <summary>
    /// The outbound bytes as a sink: the muxer's own stage; completing it half-closes, failing it
    /// resets. Taking it ends writing through <see cref="Stream"/>; it can be taken once.
    /// </summary>
    public Sink<ByteString, NotUsed> Sink => Stream.RemainingSink();

    /// <summary>Both directions as one flow (<see cref="Sink"/> in, <see cref="Source"/> out), for a handler that is a graph.</summary>
    public Flow<ByteString, ByteString, NotUsed> Flow => Akka.Streams.Dsl.Flow.FromSinkAndSource(Sink, Source);

    /// <summary>Completes when the stream is gone; faults when it was reset.</summary>
    public Task Completion => _muxed.Completion;

    /// <summary>Records another protocol for the stream (the seed's <c>SetProtocol</c>, for protocols negotiated in-band).</summary>
    public void SetProtocol(string protocol) => Protocol = protocol ?? throw new ArgumentNullException(nameof(protocol));

    /// <summary>Stops writing; the remote reads end-of-stream (the seed's <c>CloseWrite</c>).</summary>
    public void CloseWrite() => Stream.CloseWrite();

    /// <summary>
    /// Stops reading (the seed's <c>CloseRead</c>): a read in progress and every later one fail with
    /// <see cref="StreamClosedException"/>; writing goes on.
    /// </summary>
    public void CloseRead() => _muxed.CloseRead();

    /// <summary>Closes both directions without waiting for the remote (the seed's <c>Close</c>).</summary>
    public void Close()
    {
        CloseWrite();
        CloseRead();
    }

    /// <summary>Aborts both directions; the remote sees a reset (the seed's <c>Reset</c>).</summary>
    public void Reset() => _muxed.Reset();

    /// <inheritdoc />
    public override string ToString() => $"stream {Id} {Protocol} {Stat.Direction} with {Connection.RemotePeer}";
}
