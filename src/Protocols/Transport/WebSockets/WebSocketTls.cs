using System.Buffers;
using System.Net.Security;
using System.Security.Authentication;
using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>
/// TLS under <c>/wss</c>: an <see cref="SslStream"/> run over a byte connection as a bidi stage,
/// plaintext on top, records below. A minimal adapter of its own (the libp2p-TLS security
/// protocol has another; they are to be unified).
/// </summary>
internal static class WebSocketTls
{
    /// <summary>The client side, checking the server's certificate for <paramref name="serverName"/>.</summary>
    public static BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> Client(string serverName, WebSocketTlsOptions options, TimeSpan handshakeTimeout) =>
        BidiFlow.FromGraph(new SslStreamStage(ssl => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = options.ValidateServer,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        }), handshakeTimeout, "wss client"));

    /// <summary>The server side, serving <see cref="WebSocketTlsOptions.ServerCertificate"/>.</summary>
    public static BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> Server(WebSocketTlsOptions options, TimeSpan handshakeTimeout) =>
        BidiFlow.FromGraph(new SslStreamStage(ssl => ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = options.ServerCertificate,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = false,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        }), handshakeTimeout, "wss server"));
}

/// <summary>
/// An <see cref="SslStream"/> as a bidi stage. The stream's inner side is a <see cref="WireStream"/>
/// whose reads pull the records inlet and whose writes push the records outlet; the stage reads
/// plaintext from the <see cref="SslStream"/> only while downstream has pulled, and writes one
/// pushed element at a time, so backpressure holds both ways and nothing is buffered beyond one
/// TLS record and one element.
/// </summary>
internal sealed class SslStreamStage : GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>>
{
    private const int ReadBufferSize = 16 * 1024 + 512;

    private readonly Inlet<ByteString> _plainIn = new("tls.plain.in");
    private readonly Outlet<ByteString> _cipherOut = new("tls.cipher.out");
    private readonly Inlet<ByteString> _cipherIn = new("tls.cipher.in");
    private readonly Outlet<ByteString> _plainOut = new("tls.plain.out");
    private readonly Func<SslStream, Task> _authenticate;
    private readonly TimeSpan _handshakeTimeout;
    private readonly string _name;

    public SslStreamStage(Func<SslStream, Task> authenticate, TimeSpan handshakeTimeout, string name)
    {
        _authenticate = authenticate;
        _handshakeTimeout = handshakeTimeout;
        _name = name;
        Shape = new BidiShape<ByteString, ByteString, ByteString, ByteString>(_plainIn, _cipherOut, _cipherIn, _plainOut);
    }

    public override BidiShape<ByteString, ByteString, ByteString, ByteString> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("libp2p-wss-tls");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : TimerGraphStageLogic
    {
        private readonly SslStreamStage _stage;
        private readonly Queue<(ByteString Bytes, TaskCompletionSource Sent)> _toWire = new();
        private WireStream? _wire;
        private SslStream? _ssl;
        private bool _authenticated;
        private bool _reading;
        private bool _writing;
        private bool _plainInDone;

        public Logic(SslStreamStage stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._plainIn, OnPlainPush, OnPlainFinish, FailStage);
            SetHandler(stage._cipherOut, FlushWire, _ => CompleteStage());
            SetHandler(stage._cipherIn, () => _wire!.Deliver(Grab(stage._cipherIn)), () => _wire!.DeliverEnd(), e => _wire!.DeliverError(e));
            // The layer above stopped reading; what it still writes (a WebSocket close frame) goes out
            // before the close_notify, and the stage stops once that is sent.
            SetHandler(stage._plainOut, ReadPlain, _ => { });
        }

        public override void PreStart()
        {
            var pullCipher = GetAsyncCallback(() =>
            {
                if (!IsClosed(_stage._cipherIn) && !HasBeenPulled(_stage._cipherIn))
                    Pull(_stage._cipherIn);
            });
            var sendCipher = GetAsyncCallback<(ByteString, TaskCompletionSource)>(write =>
            {
                if (IsClosed(_stage._cipherOut))
                {
                    write.Item2.TrySetException(new IOException($"{_stage._name}: the connection is closed"));
                    return;
                }
                _toWire.Enqueue(write);
                FlushWire();
            });
            _wire = new WireStream(pullCipher, sendCipher);
            _ssl = new SslStream(_wire, leaveInnerStreamOpen: false);
            var authenticated = GetAsyncCallback<Task>(OnAuthenticated);
            ScheduleOnce("handshake", _stage._handshakeTimeout);
            _stage._authenticate(_ssl).ContinueWith(t => authenticated(t), TaskScheduler.Default);
        }

        public override void PostStop()
        {
            _wire?.DeliverError(new IOException($"{_stage._name}: the connection is closed"));
            while (_toWire.TryDequeue(out var write))
                write.Sent.TrySetException(new IOException($"{_stage._name}: the connection is closed"));
            _ssl?.Dispose();
        }

        protected override void OnTimer(object timerKey)
        {
            if (!_authenticated)
                Abort(new TimeoutException($"{_stage._name}: the TLS handshake did not finish within {_stage._handshakeTimeout.TotalSeconds:0.###} s"));
        }

        private void OnAuthenticated(Task task)
        {
            if (!task.IsCompletedSuccessfully)
            {
                var cause = task.Exception?.GetBaseException() ?? new TaskCanceledException(task);
                Abort(new AuthenticationException($"{_stage._name}: the TLS handshake failed: {cause.Message}", cause));
                return;
            }
            _authenticated = true;
            CancelTimer("handshake");
            if (IsAvailable(_stage._plainOut))
                ReadPlain();
            if (_plainInDone)
                OnPlainFinish();
            else
                Pull(_stage._plainIn);
        }

        /// <summary>Fails the stage with the layer above told first, so it reports this error rather than the cancel that follows.</summary>
        private void Abort(Exception error)
        {
            if (!IsClosed(_stage._plainOut))
                Fail(_stage._plainOut, error);
            FailStage(error);
        }

        private void FlushWire()
        {
            if (_toWire.Count > 0 && IsAvailable(_stage._cipherOut))
            {
                var (bytes, sent) = _toWire.Dequeue();
                Push(_stage._cipherOut, bytes);
                sent.TrySetResult();
            }
        }

        private void ReadPlain()
        {
            if (!_authenticated || _reading)
                return;
            _reading = true;
            var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
            var received = GetAsyncCallback<(Task<int>, byte[])>(OnPlainRead);
            _ssl!.ReadAsync(buffer.AsMemory()).AsTask().ContinueWith(t => received((t, buffer)), TaskScheduler.Default);
        }

        private void OnPlainRead((Task<int> Read, byte[] Buffer) result)
        {
            _reading = false;
            var (read, buffer) = result;
            if (!read.IsCompletedSuccessfully)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                Abort(read.Exception?.GetBaseException() ?? new TaskCanceledException(read));
                return;
            }
            var count = read.Result;
            var bytes = count > 0 ? ByteString.CopyFrom(buffer, 0, count) : ByteString.Empty;
            ArrayPool<byte>.Shared.Return(buffer);
            if (count == 0)
            {
                Complete(_stage._plainOut);
                return;
            }
            if (!IsClosed(_stage._plainOut))
                Push(_stage._plainOut, bytes);
        }

        private void OnPlainPush()
        {
            var bytes = Grab(_stage._plainIn);
            _writing = true;
            var written = GetAsyncCallback<Task>(t =>
            {
                _writing = false;
                if (!t.IsCompletedSuccessfully)
                {
                    Abort(t.Exception?.GetBaseException() ?? new TaskCanceledException(t));
                    return;
                }
                if (_plainInDone)
                    OnPlainFinish();
                else
                    Pull(_stage._plainIn);
            });
            _ssl!.WriteAsync(bytes.ToArray()).AsTask().ContinueWith(t => written(t), TaskScheduler.Default);
        }

        private void OnPlainFinish()
        {
            _plainInDone = true;
            if (!_authenticated || _writing)
                return;
            // close_notify, then the records side ends; reading goes on until the peer ends too.
            var shutDown = GetAsyncCallback<Task>(_ =>
            {
                Complete(_stage._cipherOut);
                if (IsClosed(_stage._plainOut))
                    Cancel(_stage._cipherIn);
            });
            _ssl!.ShutdownAsync().ContinueWith(t => shutDown(t), TaskScheduler.Default);
        }
    }

    /// <summary>The records side as a <see cref="Stream"/> for <see cref="SslStream"/>: reads wait for the inlet, writes for the outlet.</summary>
    private sealed class WireStream(Action pull, Action<(ByteString, TaskCompletionSource)> send) : Stream
    {
        private readonly object _gate = new();
        private ByteString _received = ByteString.Empty;
        private TaskCompletionSource? _waiting;
        private bool _ended;
        private Exception? _error;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Deliver(ByteString bytes) => Signal(() => _received = _received.Concat(bytes));

        public void DeliverEnd() => Signal(() => _ended = true);

        public void DeliverError(Exception error) => Signal(() => _error ??= error);

        private void Signal(Action change)
        {
            TaskCompletionSource? waiting;
            lock (_gate)
            {
                change();
                waiting = _waiting;
                _waiting = null;
            }
            waiting?.TrySetResult();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                Task wait;
                lock (_gate)
                {
                    if (_received.Count > 0)
                    {
                        var n = Math.Min(buffer.Length, _received.Count);
                        var span = buffer.Span;
                        _received.Slice(0, n).CopyTo(ref span, 0, n);
                        _received = _received.Slice(n);
                        return n;
                    }
                    if (_error is not null)
                        throw new IOException(_error.Message, _error);
                    if (_ended)
                        return 0;
                    _waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _waiting.Task;
                }
                pull();
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (_error is not null)
                    throw new IOException(_error.Message, _error);
            }
            send((ByteString.FromBytes(buffer.ToArray()), sent));
            await sent.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        // SslStream is used through its async API only: a synchronous call would block a dispatcher thread.
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous reads would block");
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous writes would block");
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
