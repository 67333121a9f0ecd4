using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Libp2p.Protocols.Multiformats;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// A listening TCP socket as a source of inbound connections. It binds in <c>PreStart</c> (any
/// address, 0.0.0.0 and :: included; :: is dual-mode, so IPv4 peers reach it too) and accepts
/// only when downstream pulls, so a consumer that falls behind leaves connections in the
/// kernel's backlog. Each accepted socket is pushed as an <see cref="InboundConnection"/> whose
/// flow runs it in a <see cref="SocketConnectionStage"/>.
/// </summary>
/// <remarks>
/// The flow owns the socket once materialized (it can be materialized once). A connection pushed
/// but never materialized is closed when the listener stops, by unbinding or by cancelling the
/// source. Connections already running are not affected by the listener stopping.
/// </remarks>
internal sealed class SocketListenerStage : GraphStageWithMaterializedValue<SourceShape<InboundConnection>, Task<TransportListener>>
{
    // Akka.IO's default, and what go-libp2p gets from the kernel on most systems.
    private const int Backlog = 512;

    private readonly Outlet<InboundConnection> _out = new("socket-listener.out");
    private readonly IPEndPoint _endPoint;
    private readonly Multiaddr _address;
    private readonly TcpPortReuse? _reuse;

    /// <summary>
    /// A listener on <paramref name="endPoint"/>; <paramref name="address"/> names it in errors. With
    /// <paramref name="reuse"/>, the port is shared with the node's dials and recorded there while bound.
    /// </summary>
    public SocketListenerStage(IPEndPoint endPoint, Multiaddr address, TcpPortReuse? reuse = null)
    {
        _endPoint = endPoint;
        _address = address;
        _reuse = reuse;
        Shape = new SourceShape<InboundConnection>(_out);
    }

    /// <inheritdoc />
    public override SourceShape<InboundConnection> Shape { get; }

    /// <inheritdoc />
    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("libp2p-tcp-listener");

    /// <inheritdoc />
    public override ILogicAndMaterializedValue<Task<TransportListener>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var bound = new TaskCompletionSource<TransportListener>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LogicAndMaterializedValue<Task<TransportListener>>(new Logic(this, bound), bound.Task);
    }

    private sealed class Logic : GraphStageLogic
    {
        private readonly SocketListenerStage _stage;
        private readonly TaskCompletionSource<TransportListener> _bound;
        private readonly TaskCompletionSource _unbound = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentDictionary<AcceptedSocket, byte> _untaken = new();
        private readonly Action<AcceptedSocket> _taken;
        private Socket? _listener;
        private AcceptOperation? _accept;
        private bool _accepting;
        private IPEndPoint? _registered;

        public Logic(SocketListenerStage stage, TaskCompletionSource<TransportListener> bound) : base(stage.Shape)
        {
            _stage = stage;
            _bound = bound;
            _taken = accepted => _untaken.TryRemove(accepted, out _);
            SetHandler(stage._out, Accept);
        }

        public override void PreStart()
        {
            var endPoint = _stage._endPoint;
            var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            _listener = listener;
            try
            {
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
                    listener.DualMode = true;
                if (_stage._reuse is null)
                    AllowRebindDuringTimeWait(listener);
                else
                {
                    // SO_REUSEPORT would let us share a port another listener holds (any of this
                    // user's processes): a plain bind first says whether it is taken.
                    if (endPoint.Port != 0)
                        ProbeFree(endPoint);
                    TcpPortReuse.Enable(listener);
                }
                listener.Bind(endPoint);
                listener.Listen(Backlog);
                if (_stage._reuse is { } reuse)
                {
                    _registered = (IPEndPoint)listener.LocalEndPoint!;
                    reuse.Add(_registered);
                }
            }
            catch (SocketException e)
            {
                var reason = e.SocketErrorCode switch
                {
                    SocketError.AddressAlreadyInUse => "address already in use",
                    SocketError.AddressNotAvailable => "the address is not one of this host's",
                    SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
                    _ => e.Message,
                };
                var error = new TransportException($"tcp: listen on {_stage._address} failed: {reason}", e);
                _bound.TrySetException(error);
                FailStage(error);
                return;
            }
            _accept = new AcceptOperation(GetAsyncCallback<AcceptOperation>(op =>
            {
                OnAccepted(op);
                Accept();
            }));
            var unbind = GetAsyncCallback(CompleteStage);
            _bound.TrySetResult(new TransportListener(TcpAddresses.ToMultiaddr(listener.LocalEndPoint!), () =>
            {
                unbind();
                return _unbound.Task;
            }));
        }

        /// <summary>
        /// SO_REUSEADDR alone, so a restarted node binds its port again while old connections sit in
        /// TIME_WAIT (as Akka.IO and most servers do). Not <see cref="SocketOptionName.ReuseAddress"/>:
        /// on Linux .NET maps it to SO_REUSEADDR and SO_REUSEPORT, and with SO_REUSEPORT a second
        /// node could bind the same port and take a share of our connections. Not on Windows, where
        /// SO_REUSEADDR means that too. (.NET on Linux sets SO_REUSEADDR on TCP sockets anyway; this
        /// says so here rather than rely on it.)
        /// </summary>
        private static void AllowRebindDuringTimeWait(Socket listener)
        {
            if (OperatingSystem.IsLinux())
                listener.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
            else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
                listener.SetRawSocketOption(0xFFFF /* SOL_SOCKET */, 4 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
        }

        /// <summary>Binds and closes a socket without SO_REUSEPORT: throws AddressAlreadyInUse when something listens there.</summary>
        private static void ProbeFree(IPEndPoint endPoint)
        {
            using var probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
                probe.DualMode = true;
            AllowRebindDuringTimeWait(probe);
            probe.Bind(endPoint);
        }

        public override void PostStop()
        {
            if (_registered is not null)
                _stage._reuse?.Remove(_registered);
            _accept?.Stop();
            _listener?.Dispose();
            _accept?.Dispose();
            foreach (var accepted in _untaken.Keys)
                accepted.Discard();
            _untaken.Clear();
            if (!_bound.Task.IsCompleted)
                _bound.TrySetException(new TransportException($"tcp: listen on {_stage._address} failed: the listener stopped before it bound"));
            _unbound.TrySetResult();
        }

        private void Accept()
        {
            while (!_accepting && _accept is not null && IsAvailable(_stage._out))
            {
                var op = _accept;
                op.AcceptSocket = null;
                _accepting = true;
                bool pending;
                try
                {
                    pending = _listener!.AcceptAsync(op);
                }
                catch (SocketException e)
                {
                    _accepting = false;
                    Fail(e.SocketErrorCode);
                    return;
                }
                if (pending)
                    return;
                OnAccepted(op);
            }
        }

        private void OnAccepted(AcceptOperation op)
        {
            _accepting = false;
            var socket = op.AcceptSocket;
            op.AcceptSocket = null;
            if (op.SocketError != SocketError.Success)
            {
                socket?.Dispose();
                // A connection that the remote gave up on while it waited in the backlog: accept the next.
                if (op.SocketError is not (SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.Interrupted or SocketError.TryAgain))
                    Fail(op.SocketError);
                return;
            }
            TransportConnection addresses;
            try
            {
                addresses = new TransportConnection(TcpAddresses.ToMultiaddr(socket!.LocalEndPoint!), TcpAddresses.ToMultiaddr(socket.RemoteEndPoint!));
            }
            catch (SocketException)
            {
                socket!.Dispose();
                return;
            }
            var accepted = new AcceptedSocket(socket, addresses, _taken);
            _untaken.TryAdd(accepted, 0);
            var flow = Flow.FromGraph(new SocketConnectionStage(accepted)).MapMaterializedValue(_ => NotUsed.Instance);
            Push(_stage._out, new InboundConnection(addresses, flow));
        }

        private void Fail(SocketError error) =>
            FailStage(new TransportException($"tcp: the listener on {_stage._address} failed: {error}", new SocketException((int)error)));
    }

    /// <summary>An accept whose completion goes to the stage; once the stage stopped, a late socket is closed here.</summary>
    private sealed class AcceptOperation : SocketAsyncEventArgs
    {
        private readonly Action<AcceptOperation> _completed;
        private volatile bool _stopped;

        public AcceptOperation(Action<AcceptOperation> completed) : base(unsafeSuppressExecutionContextFlow: true) => _completed = completed;

        public void Stop() => _stopped = true;

        protected override void OnCompleted(SocketAsyncEventArgs e)
        {
            if (_stopped)
            {
                AcceptSocket?.Dispose();
                return;
            }
            _completed(this);
        }
    }
}
