using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace Libp2p.Protocols.Connections;

/// <summary>
/// The handle of one upgraded connection (the seed's <c>MuxedConn</c>), the materialized value of
/// <see cref="ConnectionStage"/>. Every call is a message to the connection's stage, so it is safe
/// from any thread; the stage owns all state.
/// </summary>
public sealed class MuxedConnection
{
    private readonly TaskCompletionSource<ConnectionUpgrade> _upgraded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<MuxedStream> _inbound;
    // Commands wait here in order and the stage takes them all at once: one wake-up of the stage
    // (an async callback, which allocates) per batch, not per command.
    private readonly ConcurrentQueue<ConnectionCommand> _queued = new();
    private Action? _wake;
    private int _wakeScheduled;

    internal MuxedConnection(int inboundBacklog)
    {
        // Bounded: a peer that opens streams faster than the owner accepts them gets resets,
        // not our memory (the stage resets what does not fit).
        _inbound = Channel.CreateBounded<MuxedStream>(new BoundedChannelOptions(inboundBacklog)
        {
            SingleReader = false,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // Nothing observes a failed upgrade but the completion; keep the task from going unobserved.
        _upgraded.Task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>Completes once the upgrade succeeded, with the remote peer and the protocols chosen.</summary>
    public Task<ConnectionUpgrade> Upgraded => _upgraded.Task;

    /// <summary>Streams the remote opened, in the order it opened them. Completes when the connection closes.</summary>
    public ChannelReader<MuxedStream> InboundStreams => _inbound.Reader;

    /// <summary>Completes when the connection is closed; faults with the reason if it failed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Opens a new outbound stream; waits for the upgrade first.</summary>
    /// <exception cref="ConnectionClosedException">The connection is closed or fails meanwhile.</exception>
    public Task<MuxedStream> OpenStreamAsync(CancellationToken cancellationToken = default)
    {
        var opened = new TaskCompletionSource<MuxedStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancelWith(opened, cancellationToken);
        Send(new ConnectionCommand.OpenStream(opened), opened);
        return opened.Task;
    }

    /// <summary>Measures one round trip with the muxer's ping (yamux); fails on muxers without one.</summary>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var answered = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancelWith(answered, cancellationToken);
        Send(new ConnectionCommand.Ping(answered), answered);
        return answered.Task;
    }

    /// <summary>
    /// Cancels <paramref name="reply"/> with <paramref name="cancellationToken"/>, and lets go of the
    /// token once the reply is in: a long-lived token would otherwise keep every reply it ever saw.
    /// </summary>
    private static void CancelWith<T>(TaskCompletionSource<T> reply, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
            return;
        var registration = cancellationToken.Register(static state => ((TaskCompletionSource<T>)state!).TrySetCanceled(), reply);
        reply.Task.ContinueWith(static (_, state) => ((CancellationTokenRegistration)state!).Dispose(), registration,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Closes the connection gracefully: the muxer says goodbye, then the transport closes.</summary>
    public void Close() => Post(new ConnectionCommand.Close());

    /// <summary>Closes the connection at once; open streams fail with <paramref name="reason"/>.</summary>
    public void Abort(Exception reason) => Post(new ConnectionCommand.Abort(reason));

    internal void Bind(Action wake) => _wake = wake;

    internal void Send<T>(ConnectionCommand command, TaskCompletionSource<T>? reply)
    {
        if (_completion.Task.IsCompleted || _wake is null)
        {
            Refuse(command, reply);
            return;
        }
        _queued.Enqueue(command);
        // The stage may have stopped between the check and the enqueue: what it left is refused here.
        if (_completion.Task.IsCompleted)
        {
            RefuseQueued();
            return;
        }
        if (Interlocked.Exchange(ref _wakeScheduled, 1) == 0)
            _wake();
    }

    /// <summary>The stage starts taking queued commands: one queued from now on wakes it again.</summary>
    internal void DrainStarted() => Volatile.Write(ref _wakeScheduled, 0);

    internal bool HasQueuedCommands => !_queued.IsEmpty;

    internal bool TryTakeCommand([MaybeNullWhen(false)] out ConnectionCommand command) => _queued.TryDequeue(out command);

    private void RefuseQueued()
    {
        while (_queued.TryDequeue(out var command))
        {
            switch (command)
            {
                case ConnectionCommand.OpenStream open:
                    Refuse(command, open.Opened);
                    break;
                case ConnectionCommand.Ping ping:
                    Refuse(command, ping.Answered);
                    break;
                default:
                    Refuse<object>(command, null);
                    break;
            }
        }
    }

    /// <summary>
    /// A command the stage will never see: whoever waits on it hears so. A stream's source or sink
    /// that attaches to a connection already gone fails instead of waiting for ever, without every
    /// stream keeping a continuation on the connection's completion while it lives.
    /// </summary>
    private void Refuse<T>(ConnectionCommand command, TaskCompletionSource<T>? reply)
    {
        reply?.TrySetException(Closed());
        switch (command)
        {
            case ConnectionCommand.AttachSource a:
                a.Signal(new StreamSignal.Failed(Closed()));
                break;
            case ConnectionCommand.AttachSink a:
                a.Signal(new StreamSignal.Failed(Closed()));
                break;
        }
    }

    internal void Post(ConnectionCommand command) => Send<object>(command, null);

    internal bool TryAccept(MuxedStream stream) => _inbound.Writer.TryWrite(stream);

    internal void SetUpgraded(ConnectionUpgrade upgrade) => _upgraded.TrySetResult(upgrade);

    internal void SetClosed(Exception? reason)
    {
        var error = reason is null ? null : new ConnectionClosedException($"connection failed: {reason.Message}", reason);
        _upgraded.TrySetException(error ?? new ConnectionClosedException("connection closed before the upgrade completed"));
        _inbound.Writer.TryComplete(error);
        if (error is null)
            _completion.TrySetResult();
        else
            _completion.TrySetException(error);
        RefuseQueued();
    }

    internal Exception Closed() =>
        _completion.Task.Exception?.InnerException ?? new ConnectionClosedException("connection closed");
}
