using System.Buffers;
using System.Diagnostics;
using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Connections;

/// <summary>Limits of one connection stage.</summary>
/// <param name="UpgradeTimeout">How long the security and muxer negotiation may take before the connection is cut.</param>
/// <param name="InboundStreamBacklog">Inbound streams waiting for the owner to accept them; more are reset.</param>
/// <param name="KeepAliveInterval">How often an idle connection is pinged (muxers with a ping): a tick after which the remote sent nothing but the answer to our last ping sends one, and a ping still unanswered at the next tick closes the connection. Ticks come at least this far apart, on a grid of an eighth of it that all connections share.</param>
public sealed record ConnectionStageSettings(TimeSpan UpgradeTimeout, int InboundStreamBacklog, TimeSpan KeepAliveInterval)
{
    /// <summary>How long the connection stops reading for a stream reader that is behind (mplex) before that stream is reset (go-mplex: 5 s).</summary>
    public TimeSpan LaggardGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a stream closed on this side waits for the remote to close its half before the
    /// muxer resets it (go-yamux's <c>StreamCloseTimeout</c>: 5 minutes). The stream's owner and
    /// its scope are released at once; only the muxer's entry waits.
    /// </summary>
    public TimeSpan StreamCloseTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a closing connection (closed, or its session failed) waits for its last frames to be
    /// taken by the transport before it is cut off: a remote that stopped reading would otherwise keep
    /// it, and what it queued, forever (go-yamux: a 10 s write timeout).
    /// </summary>
    public TimeSpan CloseFlushTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>15 s for the upgrade (go-libp2p's default), 256 streams of backlog (go-yamux's accept backlog), a ping every 30 s (go-yamux).</summary>
    public static ConnectionStageSettings Default { get; } = new(TimeSpan.FromSeconds(15), 256, TimeSpan.FromSeconds(30));
}

/// <summary>
/// One libp2p connection as a graph stage between the transport's bytes and the muxed streams:
/// it drives an <see cref="IConnectionCore"/> (upgrade, then muxer) and bridges each stream's
/// source and sink stages to it. Bytes go through the graph, control through async callbacks, and
/// never one actor message per frame. The materialized <see cref="MuxedConnection"/> is the handle.
/// </summary>
public sealed class ConnectionStage : GraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, MuxedConnection>
{
    private readonly Func<IConnectionCore> _core;
    private readonly ConnectionStageSettings _settings;
    private readonly Inlet<ByteString> _in = new("connection.in");
    private readonly Outlet<ByteString> _out = new("connection.out");

    /// <summary>Creates the stage; <paramref name="core"/> makes a fresh state machine per materialization.</summary>
    public ConnectionStage(Func<IConnectionCore> core, ConnectionStageSettings? settings = null)
    {
        _core = core;
        _settings = settings ?? ConnectionStageSettings.Default;
        Shape = new FlowShape<ByteString, ByteString>(_in, _out);
    }

    /// <inheritdoc />
    public override FlowShape<ByteString, ByteString> Shape { get; }

    /// <inheritdoc />
    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("libp2p-connection");

    /// <inheritdoc />
    public override ILogicAndMaterializedValue<MuxedConnection> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var handle = new MuxedConnection(_settings.InboundStreamBacklog);
        return new LogicAndMaterializedValue<MuxedConnection>(new Logic(this, _core(), handle), handle);
    }

    /// <summary>
    /// How long from <paramref name="nowMilliseconds"/> (<see cref="Environment.TickCount64"/>) to the
    /// next keep-alive tick: at least <paramref name="interval"/>, and on the next instant of a grid
    /// of an eighth of it shared by every connection of the process. The ticks of connections opened
    /// at different moments then fall together: the timer thread and the pool's workers wake once
    /// for a group of them, not once each (a wake-up costs more than the ping it carries).
    /// </summary>
    internal static TimeSpan KeepAliveDelay(long nowMilliseconds, TimeSpan interval)
    {
        var grid = KeepAliveGrid(interval);
        var due = nowMilliseconds + (long)Math.Ceiling(interval.TotalMilliseconds);
        var aligned = (due + grid - 1) / grid * grid;
        return TimeSpan.FromMilliseconds(aligned - nowMilliseconds);
    }

    /// <summary>The step, in milliseconds, of the grid keep-alive ticks fall on: an eighth of the interval.</summary>
    internal static long KeepAliveGrid(TimeSpan interval) => Math.Max(1L, (long)interval.TotalMilliseconds / 8);

    private sealed class Logic : TimerGraphStageLogic
    {
        private const string UpgradeTimer = "upgrade-timeout";
        private const string KeepAliveTimer = "keep-alive";
        private const string LaggardTimer = "laggard-grace";
        private const string CloseFlushTimer = "close-flush";
        private const string MemoryRetryTimer = "memory-retry";

        /// <summary>
        /// What one read (up to 128 KiB, Akka.IO's buffer; 64 KiB on the socket engine) may make
        /// the muxer hold at most: its bytes as unread data plus a partly received frame's buffer
        /// grown by at most twice them. A read is made only with this much approved ahead.
        /// </summary>
        private const long ReadHeadroom = 384 * 1024;

        /// <summary>Waiting chunks handed to a source's reader at once, at most (about 256 KiB of full frames).</summary>
        private const int ChunksPerDelivery = 4;

        private readonly ConnectionStage _stage;
        private readonly IConnectionCore _core;
        private readonly MuxedConnection _handle;
        private readonly List<MuxerEvent> _events = new(16);
        private readonly Dictionary<long, StreamState> _streams = new();
        private readonly Queue<TaskCompletionSource<MuxedStream>> _opensBeforeUpgrade = new();
        private readonly List<StreamState> _acksAfterFlush = new();
        private readonly OutputBuffer _output = new();
        private readonly Action<bool>? _memoryDecided;
        private readonly List<TaskCompletionSource<TimeSpan>> _pingWaiters = new();
        private bool _pingOutstanding;
        // The remote sent something other than the answer to our ping since the last keep-alive tick.
        private bool _remoteSpoke;
        private long _pingSent;
        private bool _upgraded;
        private bool _waitingForMemory;
        private long _memoryRefusedSince;
        private bool _completeWhenFlushed;
        private bool _inputFinished;
        private Exception? _failure;

        public Logic(ConnectionStage stage, IConnectionCore core, MuxedConnection handle) : base(stage.Shape)
        {
            _stage = stage;
            _core = core;
            _handle = handle;
            // The typed callback: it keeps what is invoked before the stage started (a connection
            // aborted right after it was materialized); the untyped one drops it.
            var wake = GetTypedAsyncCallback<NotUsed>(_ => OnCommands());
            handle.Bind(() => wake.Invoke(NotUsed.Instance));
            var decided = GetTypedAsyncCallback<bool>(MemoryDecided);
            _memoryDecided = decided.Invoke;
            var woken = GetTypedAsyncCallback<NotUsed>(_ => OnWake());
            core.SetWakeup(() => woken.Invoke(NotUsed.Instance));
            SetHandler(stage._in, OnPush, OnUpstreamFinish, OnUpstreamFailure);
            SetHandler(stage._out, Flush, OnDownstreamFinish);
        }

        public override void PreStart()
        {
            ScheduleOnce(UpgradeTimer, _stage._settings.UpgradeTimeout);
            _core.Start();
            // A connection refused as soon as it was materialized (the Swarm over its limits) is
            // cut before it reads a byte.
            if (_handle.HasQueuedCommands && !TakeCommands())
                return;
            Pull(_stage._in);
            AfterWork();
        }

        public override void PostStop()
        {
            _core.Dispose();
            // Commands still queued, or queued from now on, are refused: replies fail, attaches hear the end.
            _handle.SetClosed(_failure);
            var closed = _handle.Closed();
            foreach (var state in _streams.Values)
            {
                state.Fail(closed);
                state.Stream.Complete(closed);
                state.DropInbound();
            }
            _streams.Clear();
            while (_opensBeforeUpgrade.TryDequeue(out var open))
                open.TrySetException(closed);
            foreach (var waiter in _pingWaiters)
                waiter.TrySetException(closed);
        }

        protected override void OnTimer(object timerKey)
        {
            if (timerKey is MemoryRetryTimer)
            {
                _waitingForMemory = false;
                AfterWork();
                return;
            }
            if (timerKey is StreamCloseTimer close)
            {
                // The remote never closed its half: the muxer forgets the stream (a no-op if it already did).
                _core.Reset(close.StreamId);
                AfterWork();
                return;
            }
            if (LaggardTimer.Equals(timerKey))
            {
                _core.ShedLaggards(_events);
                HandleEvents();
                AfterWork();
                return;
            }
            if (CloseFlushTimer.Equals(timerKey))
            {
                Fail(new TimeoutException($"the remote did not read the connection's last frames within {_stage._settings.CloseFlushTimeout.TotalSeconds:0.###} s"));
                return;
            }
            if (UpgradeTimer.Equals(timerKey))
            {
                if (!_upgraded)
                    Fail(new TimeoutException($"the connection upgrade did not complete within {_stage._settings.UpgradeTimeout.TotalSeconds:0.###} s"));
                return;
            }
            if (_pingOutstanding)
            {
                Fail(new TimeoutException($"the keep-alive ping went unanswered for {_stage._settings.KeepAliveInterval.TotalSeconds:0.###} s"));
                return;
            }
            ScheduleKeepAlive();
            if (_remoteSpoke)
            {
                // Alive by its own word (its keep-alive pings, or data): no ping needed this time,
                // as gRPC pings only idle connections. Two peers that both ping then settle into one
                // pinging and the other answering, half the wake-ups of an idle connection.
                _remoteSpoke = false;
                return;
            }
            SendPing();
            Flush();
        }

        private void ScheduleKeepAlive()
        {
            // Zero (connection.keep-alive-interval = 0s) turns keep-alive off.
            if (_stage._settings.KeepAliveInterval > TimeSpan.Zero)
                ScheduleOnce(KeepAliveTimer, KeepAliveDelay(Environment.TickCount64, _stage._settings.KeepAliveInterval));
        }

        private bool SendPing()
        {
            if (_pingOutstanding)
                return true;
            if (!_core.Ping())
                return false;
            _pingOutstanding = true;
            _pingSent = Stopwatch.GetTimestamp();
            return true;
        }

        private void OnPush()
        {
            var bytes = Grab(_stage._in);
            // During the upgrade a command queued before these bytes comes first: an abort whose
            // wake-up is still on its way must not lose to a handshake message that would let the
            // remote finish its side.
            if (!_upgraded && _handle.HasQueuedCommands && !TakeCommands())
            {
                TransportBuffers.Return(bytes);
                return;
            }
            _core.Receive(bytes.ToReadOnlySpan(), _events);
            // Decrypted (what a frame cut short left is copied): the transport's array can be reused.
            TransportBuffers.Return(bytes);
            // Bytes that are not only the answer to our own ping (a pong makes that one event, a
            // remote's ping none) show the remote alive: the next keep-alive ping is not needed.
            _remoteSpoke = _remoteSpoke || _events.Count == 0 || _events.Exists(e => e is not MuxerEvent.PingAnswered);
            HandleEvents();
            AfterWork();
        }

        /// <summary>
        /// Reads on, unless a stream's reader is behind on a muxer without flow control: then the
        /// socket waits (TCP slows the remote) until the reader catches up or the grace runs out.
        /// </summary>
        private void PullOrPause()
        {
            if (_core.IsClosed || IsClosed(_stage._in) || HasBeenPulled(_stage._in))
                return;
            if (_waitingForMemory)
                return;
            if (!_core.InputPaused)
            {
                CancelTimer(LaggardTimer);
                // What TLS still holds reaches the muxer later, and may cost it twice itself then
                // (a frame kept in part grows by at most twice what arrived).
                if (_core.Memory is { } memory && !memory.EnsureHeadroom(ReadHeadroom + 2L * _core.BufferedInput, _memoryDecided!))
                {
                    // Nothing is read until the memory it may take is approved (TCP slows the remote meanwhile).
                    _waitingForMemory = true;
                    return;
                }
                Pull(_stage._in);
            }
            else if (!IsTimerActive(LaggardTimer))
            {
                ScheduleOnce(LaggardTimer, _stage._settings.LaggardGrace);
            }
        }

        /// <summary>Work off the stage's thread (TLS) progressed: take in what it produced.</summary>
        private void OnWake()
        {
            _core.Poll(_events);
            HandleEvents();
            if (_inputFinished && !_core.HasPendingInput)
            {
                OnUpstreamFinish();
                return;
            }
            AfterWork();
        }

        private void OnUpstreamFinish()
        {
            if (WaitingForDecryption())
                return;
            // The remote closed the transport: whatever it said last has been handled.
            if (!_core.IsClosed && !_completeWhenFlushed)
                _failure ??= _upgraded ? null : new ConnectionClosedException("the remote closed the connection during the upgrade");
            CompleteStage();
        }

        private void OnUpstreamFailure(Exception error) =>
            // A remote that refuses a connection before its handshake closes it with bytes unread,
            // which the kernel turns into a reset: during the upgrade, say so in the same words.
            Fail(!_upgraded && error.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset }
                ? new ConnectionClosedException("the remote reset the connection during the upgrade", error)
                : error);

        /// <summary>
        /// Whether the transport's end must wait: bytes that arrived before it are still being
        /// decrypted off the stage's thread (TLS). The core is told no more comes, and the wake that
        /// reports them handled finishes the stage.
        /// </summary>
        private bool WaitingForDecryption()
        {
            if (!_upgraded || !_core.HasPendingInput)
                return false;
            if (!_inputFinished)
            {
                _inputFinished = true;
                _core.EndInput();
            }
            return true;
        }

        private void OnDownstreamFinish(Exception cause)
        {
            // The transport stopped taking bytes because its socket closed, often before its read side
            // finished: what it had read is still taken in, as when its read side ends.
            if (WaitingForDecryption())
                return;
            // During the upgrade, as in OnUpstreamFinish, the remote closed it.
            if (!_upgraded)
                _failure ??= new ConnectionClosedException("the remote closed the connection during the upgrade");
            CompleteStage();
        }

        private void MemoryDecided(bool granted)
        {
            if (granted)
            {
                _waitingForMemory = false;
                _memoryRefusedSince = 0;
                AfterWork();
                return;
            }
            // Refused for now: what this connection's readers hold, or others', may come back. The
            // socket waits (TCP slows the remote), asking again, for as long as a laggard reader may.
            var now = Stopwatch.GetTimestamp();
            if (_memoryRefusedSince == 0)
                _memoryRefusedSince = now;
            if (Stopwatch.GetElapsedTime(_memoryRefusedSince, now) >= _stage._settings.LaggardGrace)
            {
                Fail(new MuxerException($"the resource manager refused, for {_stage._settings.LaggardGrace.TotalSeconds:0.###} s, the {ReadHeadroom / 1024} KiB of memory this connection needs approved before it reads on"));
                return;
            }
            ScheduleOnce(MemoryRetryTimer, TimeSpan.FromMilliseconds(100));
        }

        private void Fail(Exception error)
        {
            _failure ??= error;
            FailStage(error);
        }

        private void AfterWork()
        {
            // Read on, or stay paused for a reader that is behind (and resume once it caught up).
            PullOrPause();
            if (!_upgraded && _core.Upgrade is { } upgrade)
            {
                _upgraded = true;
                CancelTimer(UpgradeTimer);
                _handle.SetUpgraded(upgrade);
                while (_opensBeforeUpgrade.TryDequeue(out var open))
                    Open(open);
                // A first ping measures the round trip (yamux's window tuning uses it), then keep-alives follow.
                if (SendPing())
                    ScheduleKeepAlive();
            }
            if (_core.IsClosed)
                _completeWhenFlushed = true;
            Flush();
        }

        private void Flush()
        {
            if (_core.HasOutput && IsAvailable(_stage._out))
            {
                // A full Noise message and small frames beside it, in one array of the transport's
                // pool (off the large object heap), which the transport gives back once it is sent.
                _core.DrainOutput(_output, TransportBuffers.Size);
                Push(_stage._out, _output.Take());
                foreach (var held in _acksAfterFlush)
                {
                    held.Sink?.Invoke(StreamSignal.AcceptedWrites(held.AcknowledgementsHeld));
                    held.AcknowledgementsHeld = 0;
                }
                _acksAfterFlush.Clear();
            }
            if (!_completeWhenFlushed)
                return;
            if (!_core.HasOutput)
                CompleteStage();
            else if (!IsTimerActive(CloseFlushTimer))
                ScheduleOnce(CloseFlushTimer, _stage._settings.CloseFlushTimeout);
        }

        private void HandleEvents()
        {
            foreach (var e in _events)
            {
                switch (e)
                {
                    case MuxerEvent.StreamOpened opened:
                        var stream = new MuxedStream(_handle, opened.StreamId);
                        if (_handle.TryAccept(stream))
                            _streams[opened.StreamId] = new StreamState(stream);
                        else
                            _core.Reset(opened.StreamId);
                        break;
                    case MuxerEvent.Data data when _streams.TryGetValue(data.StreamId, out var state):
                        if (state.ReadClosed)
                        {
                            _core.Consumed(data.StreamId, data.Length);
                            data.Release();
                        }
                        else
                        {
                            state.Inbound.Enqueue(data);
                        }
                        Deliver(state);
                        break;
                    case MuxerEvent.RemoteClosed closed when _streams.TryGetValue(closed.StreamId, out var state):
                        state.RemoteClosed = true;
                        Deliver(state);
                        Forget(state);
                        break;
                    case MuxerEvent.StreamReset reset when _streams.TryGetValue(reset.StreamId, out var state):
                        state.Fail(new StreamResetException($"stream {reset.StreamId} was reset: {reset.Reason}"));
                        Forget(state);
                        break;
                    case MuxerEvent.StreamClosed or MuxerEvent.StreamReset:
                        // A stream this side had already let go of: the remote finished it in time.
                        CancelTimer(new StreamCloseTimer(e is MuxerEvent.StreamClosed c ? c.StreamId : ((MuxerEvent.StreamReset)e).StreamId));
                        break;
                    case MuxerEvent.SendWindowOpened window when _streams.TryGetValue(window.StreamId, out var state):
                        ContinueWrite(state);
                        break;
                    case MuxerEvent.PingAnswered:
                        _pingOutstanding = false;
                        var rtt = Stopwatch.GetElapsedTime(_pingSent);
                        foreach (var waiter in _pingWaiters)
                            waiter.TrySetResult(rtt);
                        _pingWaiters.Clear();
                        break;
                    case MuxerEvent.SessionFailed failed:
                        _failure ??= failed.Error;
                        break;
                }
            }
            _events.Clear();
        }

        /// <summary>Handles every command queued on the handle, then flushes once.</summary>
        private void OnCommands()
        {
            if (TakeCommands())
                AfterWork();
        }

        /// <summary>Handles the commands queued so far; false once one of them failed the stage.</summary>
        private bool TakeCommands()
        {
            _handle.DrainStarted();
            while (_handle.TryTakeCommand(out var command))
            {
                if (!OnCommand(command))
                    return false;
            }
            return true;
        }

        /// <summary>Handles one command; false once the stage failed.</summary>
        private bool OnCommand(ConnectionCommand command)
        {
            switch (command)
            {
                case ConnectionCommand.OpenStream open when _upgraded:
                    Open(open.Opened);
                    break;
                case ConnectionCommand.OpenStream open:
                    _opensBeforeUpgrade.Enqueue(open.Opened);
                    break;
                case ConnectionCommand.AttachSource attach:
                    if (_streams.TryGetValue(attach.StreamId, out StreamState? state) && state.Failure is null && !state.ReadClosed)
                    {
                        state.Source = attach.Signal;
                        state.ChunkReader = attach.Chunks;
                    }
                    else
                        attach.Signal(new StreamSignal.Failed(state?.Failure ?? Closed(attach.StreamId, state is not null, "reading")));
                    break;
                case ConnectionCommand.AttachSink attach:
                    if (_streams.TryGetValue(attach.StreamId, out state) && state.Failure is null && !state.WriteClosed)
                        state.Sink = attach.Signal;
                    else
                        attach.Signal(new StreamSignal.Failed(state?.Failure ?? Closed(attach.StreamId, state is not null, "writing")));
                    break;
                case ConnectionCommand.PullSource pull when _streams.TryGetValue(pull.StreamId, out state):
                    state.Demand = true;
                    Deliver(state);
                    break;
                case ConnectionCommand.CancelSource cancel when _streams.TryGetValue(cancel.StreamId, out state):
                    CloseRead(state);
                    break;
                case ConnectionCommand.CloseRead close when _streams.TryGetValue(close.StreamId, out state) && !state.ReadClosed:
                    // The reader is told, or it would wait for bytes that are now dropped.
                    state.Source?.Invoke(new StreamSignal.Failed(Closed(close.StreamId, true, "reading")));
                    CloseRead(state);
                    break;
                case ConnectionCommand.Write write when _streams.TryGetValue(write.StreamId, out state):
                    state.PendingWrites.Enqueue(write);
                    if (state.PendingWrites.Count == 1)
                        ContinueWrite(state);
                    break;
                case ConnectionCommand.CompleteSink complete when _streams.TryGetValue(complete.StreamId, out state):
                    if (state.PendingWrites.Count > 0)
                        state.CloseAfterWrite = true;
                    else
                        CloseWrite(state);
                    break;
                case ConnectionCommand.ResetStream reset when _streams.TryGetValue(reset.StreamId, out state):
                    _core.Reset(reset.StreamId);
                    state.Fail(new StreamResetException($"stream {reset.StreamId} was {reset.Reason}"));
                    Forget(state);
                    break;
                case ConnectionCommand.Ping ping:
                    if (_upgraded && SendPing())
                        _pingWaiters.Add(ping.Answered);
                    else
                        ping.Answered.TrySetException(new MuxerException(_upgraded
                            ? $"{_core.Protocol} has no ping"
                            : "the connection is not upgraded yet"));
                    break;
                case ConnectionCommand.Close:
                    _core.Close();
                    _completeWhenFlushed = true;
                    break;
                case ConnectionCommand.Abort abort:
                    Fail(abort.Reason);
                    return false;
                default:
                    // A command for a stream that is gone: its stages were told when it went.
                    break;
            }
            return true;
        }

        private void Open(TaskCompletionSource<MuxedStream> opened)
        {
            try
            {
                if (opened.Task.IsCompleted)
                    return; // whoever asked gave up meanwhile: nothing goes on the wire
                var id = _core.OpenStream();
                var stream = new MuxedStream(_handle, id);
                _streams[id] = new StreamState(stream);
                if (!opened.TrySetResult(stream))
                {
                    // Given up while it was being opened: nobody owns the stream, so it goes at once.
                    _streams.Remove(id);
                    _core.Reset(id);
                }
            }
            catch (MuxerException e)
            {
                opened.TrySetException(e);
            }
        }

        private void Deliver(StreamState state)
        {
            if (state.Source is null || !state.Demand || state.ReadClosed)
                return;
            if (state.Inbound.TryDequeue(out var data))
            {
                state.Demand = false;
                // The Stream adapter copies out and gives the array back; a source's reader keeps its chunks.
                var delivered = data.Length;
                if (state.ChunkReader is { } reader)
                {
                    reader.OnChunk(data.Buffer, data.Length);
                }
                else
                {
                    // Chunks that waited go together: one hand-off to the reader, and one pull
                    // back, for several of them, once the reader fell behind. The reader copies
                    // them out on its own thread, just before it pushes them on.
                    var chunks = new MuxerEvent.Data[1 + Math.Min(ChunksPerDelivery - 1, state.Inbound.Count)];
                    chunks[0] = data;
                    for (var more = 1; more < chunks.Length; more++)
                    {
                        chunks[more] = state.Inbound.Dequeue();
                        delivered += chunks[more].Length;
                    }
                    state.Source(new StreamSignal.Chunks(chunks));
                }
                // Window goes back to the remote only now that the reader has the bytes.
                _core.Consumed(state.Stream.Id, delivered);
            }
            else if (state.RemoteClosed)
            {
                state.Source(StreamSignal.EndOfStream);
                state.ReadClosed = true;
                Forget(state);
            }
        }

        private void ContinueWrite(StreamState state)
        {
            if (state.PendingWrites.Count == 0)
                return;
            var accepted = 0;
            while (state.PendingWrites.TryPeek(out var pending))
            {
                while (state.PendingOffset < pending.Bytes.Length)
                {
                    var taken = _core.Send(state.Stream.Id, pending.Bytes.Span[state.PendingOffset..]);
                    if (taken == 0)
                    {
                        // SendWindowOpened resumes it; what was taken so far is acknowledged now.
                        Acknowledge(state, accepted);
                        return;
                    }
                    state.PendingOffset += taken;
                }
                state.PendingWrites.Dequeue();
                state.PendingOffset = 0;
                // The muxer copied the bytes into its frames: a writer's pooled copy goes back.
                if (pending.Pooled is { } pooled)
                    TransportBuffers.ReturnPooled(pooled);
                accepted++;
            }
            if (state.CloseAfterWrite)
                CloseWrite(state);
            else
                Acknowledge(state, accepted);
        }

        /// <summary>
        /// Tells the writer the muxer took <paramref name="writes"/> of its writes, in one signal
        /// (one wake-up of the writer however many there were); held while the bytes still wait for
        /// the transport, so a writer cannot outrun the socket: bounded memory.
        /// </summary>
        private void Acknowledge(StreamState state, int writes)
        {
            if (writes == 0 || state.Sink is not { } sink)
                return;
            if (state.AcknowledgementsHeld > 0 || (_core.HasOutput && !IsAvailable(_stage._out)))
            {
                if (state.AcknowledgementsHeld == 0)
                    _acksAfterFlush.Add(state);
                state.AcknowledgementsHeld += writes;
                return;
            }
            sink(StreamSignal.AcceptedWrites(writes));
        }

        private void CloseWrite(StreamState state)
        {
            state.WriteClosed = true;
            _core.CloseWrite(state.Stream.Id);
            Forget(state);
        }

        private void CloseRead(StreamState state)
        {
            state.ReadClosed = true;
            foreach (var data in state.Inbound)
                _core.Consumed(state.Stream.Id, data.Length);
            state.DropInbound();
            _core.CloseRead(state.Stream.Id);
            Forget(state);
        }

        /// <summary>
        /// Lets a stream go once it failed or both its halves are done here, whoever finished first:
        /// its owner releases it at once, as go-libp2p's swarm stream does on <c>Close</c>. A remote
        /// that has not closed its half yet keeps only the muxer's entry, which reads nothing more
        /// and is reset if the remote stays silent for <see cref="ConnectionStageSettings.StreamCloseTimeout"/>.
        /// </summary>
        private void Forget(StreamState state)
        {
            if (state.Failure is null && !(state.ReadClosed && state.WriteClosed))
                return;
            _streams.Remove(state.Stream.Id);
            state.DropInbound();
            state.Stream.Complete(state.Failure);
            if (state.Failure is null && !state.RemoteClosed)
                ScheduleOnce(new StreamCloseTimer(state.Stream.Id), _stage._settings.StreamCloseTimeout);
        }

        /// <summary>Why a reader or writer of a stream closed here is refused: its half, or the whole stream once it was let go.</summary>
        private static StreamClosedException Closed(long id, bool halfKnown, string half) =>
            new(halfKnown ? $"stream {id} was closed for {half}" : $"stream {id} is closed");

        private sealed record StreamCloseTimer(long StreamId);
    }

    private sealed class StreamState(MuxedStream stream)
    {
        public MuxedStream Stream { get; } = stream;
        public Queue<MuxerEvent.Data> Inbound { get; } = new();
        public Action<StreamSignal>? Source { get; set; }
        public IChunkReader? ChunkReader { get; set; }
        public Action<StreamSignal>? Sink { get; set; }
        public bool Demand { get; set; }
        public bool RemoteClosed { get; set; }
        public bool ReadClosed { get; set; }
        public bool WriteClosed { get; set; }
        public bool CloseAfterWrite { get; set; }
        public Queue<ConnectionCommand.Write> PendingWrites { get; } = new(MuxedStreamSink.WritesInFlight);
        public int PendingOffset { get; set; }
        /// <summary>Writes taken by the muxer whose acknowledgement waits for the transport to take the output.</summary>
        public int AcknowledgementsHeld { get; set; }
        public Exception? Failure { get; private set; }

        /// <summary>Gives the arrays of inbound data no reader will take back to the pool.</summary>
        public void DropInbound()
        {
            while (Inbound.TryDequeue(out var data))
                data.Release();
        }

        public void Fail(Exception error)
        {
            if (Failure is not null)
                return;
            Failure = error;
            if (!ReadClosed)
                Source?.Invoke(new StreamSignal.Failed(error));
            if (!WriteClosed)
                Sink?.Invoke(new StreamSignal.Failed(error));
        }
    }
}
