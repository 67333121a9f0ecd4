using System.Net;
using System.Net.Sockets;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// One TCP connection as a graph stage that owns its <see cref="Socket"/>: bytes pushed in are
/// sent, bytes received are pushed out. It either dials (connects in <c>PreStart</c>) or takes a
/// socket a <see cref="SocketListenerStage"/> accepted. Socket completions come back through async
/// callbacks: no actor per connection, no timer, and nothing runs while the connection is idle.
/// </summary>
/// <remarks>
/// Reads happen only while downstream has pulled, so backpressure reaches TCP. An idle connection
/// waits with a zero-byte receive and holds no buffer (Kestrel's habit); once the kernel counts
/// bytes waiting an 80 KiB <see cref="TransportBuffers"/> array is taken, filled and pushed as it
/// is, and the connection stage gives it back once it decrypted it. A wake with nothing counted
/// (a stale readiness, or the end of the stream) reads into a 512-byte array of its own instead. Arrays pushed in by the connection stage
/// go back to the same pool once sent. Writes are taken while less than 256 KiB waits to be sent; what arrives while a send
/// is in flight goes out next as one gathered send. Half-close is off (libp2p closes streams
/// inside the muxer; the socket closes as a whole): upstream finishing, downstream cancelling or
/// the remote's end-of-stream each flush what was given, then close the socket and stop the stage.
/// </remarks>
internal sealed class SocketConnectionStage : GraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, Task<TransportConnection>>
{
    private const int SendCap = 256 * 1024;

    private static long _openSockets;

    private readonly Inlet<ByteString> _in = new("socket.in");
    private readonly Outlet<ByteString> _out = new("socket.out");
    private readonly EndPoint? _dialTo;
    private readonly Multiaddr? _dialAddress;
    private readonly TimeSpan _connectTimeout;
    private readonly AcceptedSocket? _accepted;
    private readonly TcpPortReuse? _reuse;

    /// <summary>
    /// A stage that dials <paramref name="endPoint"/> (resolving a host name first) when materialized;
    /// with <paramref name="reuse"/>, from the port of a listener of the node when one fits.
    /// </summary>
    public SocketConnectionStage(EndPoint endPoint, Multiaddr address, TimeSpan connectTimeout, TcpPortReuse? reuse = null)
    {
        _reuse = reuse;
        _dialTo = endPoint;
        _dialAddress = address;
        _connectTimeout = connectTimeout;
        Shape = new FlowShape<ByteString, ByteString>(_in, _out);
    }

    /// <summary>A stage over a socket a listener accepted; it can be materialized once.</summary>
    public SocketConnectionStage(AcceptedSocket accepted)
    {
        _accepted = accepted;
        Shape = new FlowShape<ByteString, ByteString>(_in, _out);
    }

    /// <summary>Sockets that connection stages hold now, process-wide: each is closed when its stage stops.</summary>
    internal static long OpenSockets => Interlocked.Read(ref _openSockets);

    /// <inheritdoc />
    public override FlowShape<ByteString, ByteString> Shape { get; }

    /// <inheritdoc />
    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("libp2p-tcp-socket");

    /// <inheritdoc />
    public override ILogicAndMaterializedValue<Task<TransportConnection>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var connected = new TaskCompletionSource<TransportConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LogicAndMaterializedValue<Task<TransportConnection>>(new Logic(this, connected), connected.Task);
    }

    private sealed class Logic : GraphStageLogic
    {
        private readonly SocketConnectionStage _stage;
        private readonly TaskCompletionSource<TransportConnection> _connected;
        private List<ArraySegment<byte>> _queued = new();
        private List<ArraySegment<byte>> _inFlight = new();
        private Socket? _socket;
        private CancellationTokenSource? _connectTimeout;
        private SocketOperation? _receive;
        private SocketOperation? _send;
        private Multiaddr? _remote;
        private long _queuedBytes;
        private long _inFlightBytes;
        private bool _receiving;
        private bool _sending;
        private ReceiveBuffer _nextReceive = ReceiveBuffer.None;
        private bool _readDone;
        private bool _closing;
        private bool _stopped;

        public Logic(SocketConnectionStage stage, TaskCompletionSource<TransportConnection> connected) : base(stage.Shape)
        {
            _stage = stage;
            _connected = connected;
            SetHandler(stage._in, OnPush, () => BeginClose(), OnUpstreamFailure);
            SetHandler(stage._out, Receive, _ =>
            {
                _readDone = true;
                BeginClose();
            });
        }

        public override void PreStart()
        {
            if (_stage._accepted is { } accepted)
            {
                _remote = accepted.Addresses.RemoteAddress;
                var socket = accepted.Take();
                if (socket is null)
                {
                    FailStage(new InvalidOperationException(accepted.Discarded
                        ? $"tcp: the connection from {_remote} was closed when its listener stopped, before it was used"
                        : $"tcp: the connection from {_remote} can be materialized only once"));
                    return;
                }
                Own(socket);
                Connected(accepted.Addresses);
                return;
            }
            Dial();
        }

        public override void PostStop()
        {
            _stopped = true;
            _connectTimeout?.Cancel();
            _connectTimeout?.Dispose();
            // Disposing aborts a pending receive or send; its completion returns the rented buffer.
            if (_socket is { } socket)
            {
                socket.Dispose();
                Interlocked.Decrement(ref _openSockets);
            }
            _receive?.Dispose();
            _send?.Dispose();
            if (!_connected.Task.IsCompleted)
                _connected.TrySetException(new TransportException($"tcp: dial {_stage._dialAddress} failed: the connection was closed before it connected"));
        }

        private void Own(Socket socket)
        {
            _socket = socket;
            Interlocked.Increment(ref _openSockets);
        }

        private void Dial()
        {
            var endPoint = _stage._dialTo!;
            var address = _stage._dialAddress!;
            _remote = address;
            // Only an IP endpoint has a family to match a listener's; a host name dials from an ephemeral port.
            var local = endPoint is IPEndPoint ip ? _stage._reuse?.LocalFor(ip) : null;
            Socket socket;
            try
            {
                socket = endPoint is IPEndPoint target
                    ? new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
                    : NewDualModeSocket();
            }
            catch (SocketException e)
            {
                Fail(new TransportException($"tcp: dial {address} failed: {e.Message}", e));
                return;
            }
            if (local is not null && !TryBind(socket, local))
            {
                socket.Dispose();
                socket = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                local = null;
            }
            Own(socket);
            _connectTimeout = new CancellationTokenSource(_stage._connectTimeout);
            Connect(socket, endPoint, local is not null);
        }

        /// <summary>Binds to a listener's port; false if the kernel refuses (the dial then takes an ephemeral port, as go's does).</summary>
        private static bool TryBind(Socket socket, IPEndPoint local)
        {
            try
            {
                TcpPortReuse.Enable(socket);
                socket.Bind(local);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }

        private void Connect(Socket socket, EndPoint endPoint, bool fromListenPort)
        {
            var onConnected = GetAsyncCallback<Exception?>(error =>
            {
                // The listen port is taken for this remote already (a connection with the same four
                // endpoints exists, e.g. the peer's own dial to us): again from an ephemeral port.
                if (fromListenPort && !_stopped && error is SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.AddressAlreadyInUse })
                {
                    socket.Dispose();
                    Interlocked.Decrement(ref _openSockets);
                    // Counted out already: should the new socket fail to open, PostStop must not count it out again.
                    _socket = null;
                    var fresh = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    Own(fresh);
                    Connect(fresh, endPoint, false);
                    return;
                }
                OnConnected(error);
            });
            // A host name is resolved by the socket, which tries each address in turn within the timeout.
            socket.ConnectAsync(endPoint, _connectTimeout!.Token).AsTask().ContinueWith(
                t => onConnected(t.IsCompletedSuccessfully ? null : t.Exception?.GetBaseException() ?? new OperationCanceledException()),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        private static Socket NewDualModeSocket() =>
            Socket.OSSupportsIPv6
                ? new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true }
                : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        private void OnConnected(Exception? error)
        {
            _connectTimeout?.Dispose();
            _connectTimeout = null;
            if (error is not null)
            {
                var (reason, failure, inner) = error switch
                {
                    OperationCanceledException => ($"timed out after {_stage._connectTimeout.TotalSeconds:0.###} s", TransportFailure.TimedOut, new SocketException((int)SocketError.TimedOut)),
                    SocketException { SocketErrorCode: SocketError.ConnectionRefused } e => ("connection refused (nothing listens there)", TransportFailure.Refused, e),
                    SocketException { SocketErrorCode: SocketError.HostUnreachable } e => ("host unreachable", TransportFailure.Unreachable, e),
                    SocketException { SocketErrorCode: SocketError.NetworkUnreachable } e => ("network unreachable", TransportFailure.Unreachable, e),
                    SocketException e => (e.Message, TransportFailure.Other, e),
                    _ => (error.Message, TransportFailure.Other, error),
                };
                Fail(new TransportException($"tcp: dial {_stage._dialAddress} failed: {reason}", failure, inner));
                return;
            }
            var socket = _socket!;
            TransportConnection addresses;
            try
            {
                addresses = new TransportConnection(TcpAddresses.ToMultiaddr(socket.LocalEndPoint!), TcpAddresses.ToMultiaddr(socket.RemoteEndPoint!));
            }
            catch (SocketException e)
            {
                Fail(new TransportException($"tcp: dial {_stage._dialAddress} failed: {e.Message}", e));
                return;
            }
            _remote = addresses.RemoteAddress;
            Connected(addresses);
        }

        private void Connected(TransportConnection addresses)
        {
            var socket = _socket!;
            socket.NoDelay = true;
            var onReceived = GetAsyncCallback<SocketOperation>(op =>
            {
                OnReceived(op);
                Receive();
            });
            var onSent = GetAsyncCallback<SocketOperation>(op =>
            {
                OnSent(op);
                AfterSend();
            });
            _receive = new SocketOperation(onReceived);
            _send = new SocketOperation(onSent);
            _connected.TrySetResult(addresses);
            if (!_closing && !IsClosed(_stage._in))
                Pull(_stage._in);
            Receive();
            AfterSend();
        }

        // ---- reading -------------------------------------------------------------------------

        private void Receive()
        {
            while (!_stopped && !_receiving && !_readDone && _receive is not null && IsAvailable(_stage._out))
            {
                var op = _receive;
                op.Rent(_nextReceive);
                _receiving = true;
                bool pending;
                try
                {
                    pending = _socket!.ReceiveAsync(op);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    op.Settle();
                    _receiving = false;
                    Abort(e is SocketException s ? s.SocketErrorCode : SocketError.OperationAborted);
                    return;
                }
                if (pending)
                    return;
                op.Settle();
                OnReceived(op);
            }
        }

        private void OnReceived(SocketOperation op)
        {
            _receiving = false;
            var received = op.TakeReceived();
            if (_stopped || _readDone)
                return;
            if (op.SocketError != SocketError.Success)
            {
                Abort(op.SocketError);
                return;
            }
            if (op.Capacity == 0)
            {
                // Readable, by the socket's account. The account can be stale: epoll announced
                // bytes that a receive already took, the zero-byte wait completes at once, and a
                // receive with a buffer then waits holding it. Idle connections did: one in seven
                // held 80 KiB of the pool that way. So the pool's array is taken only for bytes the
                // kernel counts; otherwise a small array of its own waits (or reads the end of
                // the stream, which has no bytes to count).
                _nextReceive = WaitingBytes() > 0 ? ReceiveBuffer.Pooled : ReceiveBuffer.Probe;
                return;
            }
            if (received is null)
            {
                // The remote's end of stream. Half-close is off: flush what we were given, then close.
                _readDone = true;
                Complete(_stage._out);
                BeginClose();
                return;
            }
            // A full buffer means more is probably waiting: skip the zero-byte receive next time.
            _nextReceive = received.Count < op.Capacity ? ReceiveBuffer.None : ReceiveBuffer.Pooled;
            Push(_stage._out, received);
        }

        /// <summary>The bytes the kernel holds for us to read; 0 when it cannot say (the receive then tells).</summary>
        private int WaitingBytes()
        {
            try
            {
                return _socket!.Available;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return 0;
            }
        }

        // ---- writing -------------------------------------------------------------------------

        private void OnPush()
        {
            var bytes = Grab(_stage._in);
            ByteStringSegments.AddTo(bytes, _queued);
            _queuedBytes += bytes.Count;
            AfterSend();
        }

        /// <summary>Sends what is queued if nothing is in flight, then asks for more if there is room, or closes once drained.</summary>
        private void AfterSend()
        {
            Send();
            if (_stopped)
                return;
            if (_closing)
            {
                CloseIfDrained();
                return;
            }
            if (_send is not null && !IsClosed(_stage._in) && !HasBeenPulled(_stage._in) && _queuedBytes + _inFlightBytes < SendCap)
                Pull(_stage._in);
        }

        private void Send()
        {
            while (!_stopped && !_sending && _queuedBytes > 0 && _send is not null)
            {
                (_queued, _inFlight) = (_inFlight, _queued);
                _inFlightBytes = _queuedBytes;
                _queuedBytes = 0;
                var op = _send;
                op.BufferList = _inFlight;
                _sending = true;
                bool pending;
                try
                {
                    pending = _socket!.SendAsync(op);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    _sending = false;
                    Abort(e is SocketException s ? s.SocketErrorCode : SocketError.OperationAborted);
                    return;
                }
                if (pending)
                    return;
                OnSent(op);
            }
        }

        private void OnSent(SocketOperation op)
        {
            _sending = false;
            if (_stopped)
                return;
            if (op.SocketError != SocketError.Success)
            {
                Abort(op.SocketError);
                return;
            }
            var sent = op.BytesTransferred;
            op.BufferList = null;
            if (sent < _inFlightBytes)
                RequeueUnsent(sent);
            else
            {
                // All sent: the connection stage's arrays go back to their pool (others are ignored).
                foreach (var segment in _inFlight)
                    TransportBuffers.Return(segment.Array!);
            }
            _inFlight.Clear();
            _inFlightBytes = 0;
        }

        /// <summary>A stream socket sends all or fails; should a send still stop short, the rest goes first next time.</summary>
        private void RequeueUnsent(int sent)
        {
            var rest = new List<ArraySegment<byte>>(_inFlight.Count + _queued.Count);
            foreach (var segment in _inFlight)
            {
                if (sent >= segment.Count)
                {
                    sent -= segment.Count;
                    continue;
                }
                rest.Add(segment.Slice(sent));
                sent = 0;
            }
            var unsent = rest.Sum(s => (long)s.Count);
            rest.AddRange(_queued);
            _queued = rest;
            _queuedBytes += unsent;
        }

        // ---- closing -------------------------------------------------------------------------

        private void BeginClose()
        {
            _closing = true;
            if (!IsClosed(_stage._in))
                Cancel(_stage._in);
            CloseIfDrained();
        }

        private void CloseIfDrained()
        {
            // Still connecting: the connect ends (within its timeout) and comes back here.
            if (_stopped || _sending || _queuedBytes > 0 || _send is null)
                return;
            var socket = _socket!;
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // The remote already reset the connection: nothing is left to say goodbye to.
            }
            socket.Dispose();
            CompleteStage();
        }

        private void OnUpstreamFailure(Exception error)
        {
            AbortSocket();
            Fail(error);
        }

        private void Abort(SocketError error)
        {
            AbortSocket();
            var name = _stage._dialAddress is null ? $"from {_remote}" : $"to {_remote}";
            Fail(new TransportException($"tcp: the connection {name} failed: {error}", new SocketException((int)error)));
        }

        /// <summary>Closes at once, without lingering: the remote sees a reset, not a clean end.</summary>
        private void AbortSocket()
        {
            if (_socket is not { } socket)
                return;
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed.
            }
            socket.Dispose();
        }

        private void Fail(Exception error)
        {
            _connected.TrySetException(error);
            FailStage(error);
        }
    }
}
