using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>
/// RFC 6455 over a byte connection, as a bidi stage: application bytes on top (each push one
/// binary message), the HTTP upgrade and frames below. As the client it sends the upgrade
/// request and masks every frame; as the server it answers the request (or refuses it with 400)
/// and requires masked frames. Pings are answered, pongs ignored, and the close handshake is
/// done both ways. Text frames, frames or messages over <see cref="WebSocketSettings.MaxMessageSize"/>,
/// a mask on the wrong side and every other breach close the connection with the fitting close
/// code and fail the application side with a <see cref="WebSocketProtocolException"/> saying what
/// happened.
/// </summary>
/// <remarks>
/// Payloads are passed up as they arrive, so a frame is never held whole; what the stage holds
/// is bounded: the upgrade head (8 KiB), one frame header and control payload, what one read of
/// the connection brought, and at most one data frame, one pong and one close to send. The
/// connection below is read only while the application has taken what was passed up.
/// </remarks>
public sealed class WebSocketStage : GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>>
{
    private readonly Inlet<ByteString> _appIn = new("ws.app.in");
    private readonly Outlet<ByteString> _wireOut = new("ws.wire.out");
    private readonly Inlet<ByteString> _wireIn = new("ws.wire.in");
    private readonly Outlet<ByteString> _appOut = new("ws.app.out");
    private readonly bool _client;
    private readonly string _host;
    private readonly string _path;
    private readonly WebSocketSettings _settings;

    private WebSocketStage(bool client, string host, string path, WebSocketSettings settings)
    {
        _client = client;
        _host = host;
        _path = path;
        _settings = settings;
        Shape = new BidiShape<ByteString, ByteString, ByteString, ByteString>(_appIn, _wireOut, _wireIn, _appOut);
    }

    /// <summary>The client side: upgrades with <c>GET <paramref name="path"/></c> and <c>Host: <paramref name="host"/></c>.</summary>
    public static BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> Client(string host, string path, WebSocketSettings? settings = null) =>
        BidiFlow.FromGraph(new WebSocketStage(true, host, path, settings ?? WebSocketSettings.Default));

    /// <summary>The server side: answers one upgrade request on any path.</summary>
    public static BidiFlow<ByteString, ByteString, ByteString, ByteString, NotUsed> Server(WebSocketSettings? settings = null) =>
        BidiFlow.FromGraph(new WebSocketStage(false, "", "", settings ?? WebSocketSettings.Default));

    /// <inheritdoc />
    public override BidiShape<ByteString, ByteString, ByteString, ByteString> Shape { get; }

    /// <inheritdoc />
    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("libp2p-websocket");

    /// <inheritdoc />
    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private readonly record struct Outgoing(ByteString Bytes, bool IsData, bool IsPong);

    private sealed class Logic : TimerGraphStageLogic
    {
        private const string UpgradeTimer = "upgrade";
        private const string CloseTimer = "close";

        private readonly WebSocketStage _stage;
        private readonly WebSocketSettings _settings;
        private readonly Queue<Outgoing> _wire = new();
        private readonly WebSocketFrameReader _reader;
        private string? _key;
        private ByteString _in = ByteString.Empty;
        private ByteString _toApp = ByteString.Empty;
        private bool _open;
        private bool _failed;
        private bool _closeSent;
        private bool _closeReceived;
        private bool _finishWire;
        private bool _completeApp;
        private bool _dataQueued;
        private bool _pongQueued;

        public Logic(WebSocketStage stage) : base(stage.Shape)
        {
            _stage = stage;
            _settings = stage._settings;
            _reader = new WebSocketFrameReader(stage._client, stage._settings.MaxMessageSize);
            SetHandler(stage._appIn, OnAppPush, LocalClose, FailStage);
            // The socket below closed: as its end of input, whichever of the two it reports first.
            SetHandler(stage._wireOut, FlushWire, _ =>
            {
                OnWireFinish();
                CompleteStage();
            });
            SetHandler(stage._wireIn, OnWirePush, OnWireFinish, Abort);
            SetHandler(stage._appOut, FlushApp, _ =>
            {
                _toApp = ByteString.Empty;
                LocalClose();
            });
        }

        public override void PreStart()
        {
            ScheduleOnce(UpgradeTimer, _settings.UpgradeTimeout);
            if (_stage._client)
            {
                _key = WebSocketHandshake.NewKey();
                Send(ByteString.FromBytes(WebSocketHandshake.Request(_stage._host, _stage._path, _key)));
            }
            Pull(_stage._wireIn);
        }

        protected override void OnTimer(object timerKey)
        {
            if (UpgradeTimer.Equals(timerKey) && !_open)
                Abort(new TimeoutException($"websocket: the upgrade did not finish within {_settings.UpgradeTimeout.TotalSeconds:0.###} s"));
            else if (CloseTimer.Equals(timerKey))
                // The peer neither answered our close nor read it: the socket below is closed regardless.
                CompleteStage();
        }

        /// <summary>Fails the stage with the application side told first, so the layer above reports this error, not the cancel that follows.</summary>
        private void Abort(Exception error)
        {
            if (!IsClosed(_stage._appOut))
                Fail(_stage._appOut, error);
            FailStage(error);
        }

        private void OnAppPush()
        {
            var payload = Grab(_stage._appIn);
            if (_closeSent || payload.Count == 0)
            {
                PullApp();
                return;
            }
            _dataQueued = true;
            _wire.Enqueue(new Outgoing(EncodeData(payload), IsData: true, IsPong: false));
            FlushWire();
        }

        private void OnWirePush()
        {
            var bytes = Grab(_stage._wireIn);
            if (_failed || _closeReceived)
                return;
            _in = _in.Count == 0 ? bytes : _in.Concat(bytes);
            try
            {
                if (!_open && !TryUpgrade())
                {
                    PullWire();
                    return;
                }
                ReadFrames();
            }
            catch (WebSocketProtocolException e)
            {
                ProtocolFailure(e);
                return;
            }
            FlushApp();
            FlushWire();
        }

        private void OnWireFinish()
        {
            if (_failed || _closeReceived)
                return;
            if (!_open)
            {
                Abort(new WebSocketProtocolException("websocket: the remote closed the connection during the upgrade"));
                return;
            }
            // Gone without a close frame (RFC 6455's 1006): what arrived is passed up, then the end.
            _completeApp = true;
            _finishWire = true;
            if (!IsClosed(_stage._appIn))
                Cancel(_stage._appIn);
            FlushApp();
            FlushWire();
        }

        /// <summary>The application finished writing or stopped reading: the close handshake starts.</summary>
        private void LocalClose()
        {
            if (!_open)
            {
                // Nothing was agreed yet, so there is nothing to close in WebSocket terms.
                CompleteStage();
                return;
            }
            if (!_closeSent)
                SendClose(WebSocketCloseCode.Normal, "");
            if (IsClosed(_stage._appOut))
                _finishWire = true;
            FlushWire();
        }

        private bool TryUpgrade()
        {
            var received = _in.ToReadOnlySpan();
            int length;
            try
            {
                length = WebSocketHandshake.HeadLength(received);
            }
            catch (WebSocketProtocolException) when (_stage._client)
            {
                throw new WebSocketProtocolException($"websocket: the server's answer to the upgrade has no end within {WebSocketHandshake.MaxHeadLength} bytes");
            }
            if (length < 0)
                return false;
            if (_stage._client)
            {
                WebSocketHandshake.ReadResponse(received[..length], _key!);
            }
            else
            {
                var key = WebSocketHandshake.ReadRequest(received[..length]);
                Send(ByteString.FromBytes(WebSocketHandshake.SwitchingProtocols(key)));
            }
            _in = _in.Slice(length);
            _open = true;
            CancelTimer(UpgradeTimer);
            PullApp();
            return true;
        }

        private void ReadFrames()
        {
            while (!_closeReceived && _reader.TryRead(ref _in, out var opcode, out var payload))
            {
                if (opcode != WebSocketOpcode.Binary)
                    Control(opcode, payload.ToArray());
                else if (!IsClosed(_stage._appOut))
                    _toApp = _toApp.Count == 0 ? payload : _toApp.Concat(payload);
            }
        }

        private void Control(WebSocketOpcode opcode, byte[] payload)
        {
            switch (opcode)
            {
                case WebSocketOpcode.Ping when !_closeSent && !_pongQueued:
                    // A peer pinging faster than it reads is answered once per pong sent, not once per ping.
                    _pongQueued = true;
                    _wire.Enqueue(new Outgoing(EncodeFrame(WebSocketOpcode.Pong, payload), IsData: false, IsPong: true));
                    break;
                case WebSocketOpcode.Close:
                    var (code, reason) = WebSocketFrameCodec.ReadClosePayload(payload);
                    _closeReceived = true;
                    if (!_closeSent)
                    {
                        // Echo the peer's status code (RFC 6455 §5.5.1).
                        _closeSent = true;
                        _wire.Enqueue(new Outgoing(EncodeFrame(WebSocketOpcode.Close, code is { } c ? WebSocketFrameCodec.ClosePayload((WebSocketCloseCode)c, "") : []), false, false));
                        ScheduleOnce(CloseTimer, _settings.CloseTimeout);
                    }
                    _finishWire = true;
                    if (!IsClosed(_stage._appIn))
                        Cancel(_stage._appIn);
                    if (code is null or (ushort)WebSocketCloseCode.Normal or 1001)
                    {
                        _completeApp = true;
                    }
                    else if (!IsClosed(_stage._appOut))
                    {
                        _toApp = ByteString.Empty;
                        Fail(_stage._appOut, new WebSocketProtocolException($"websocket: the remote closed the connection with status {code}{(reason.Length > 0 ? ": " + reason : "")}"));
                    }
                    break;
            }
        }

        private void ProtocolFailure(WebSocketProtocolException error)
        {
            _failed = true;
            _in = ByteString.Empty;
            _toApp = ByteString.Empty;
            if (!_open)
            {
                if (!_stage._client)
                    Send(ByteString.FromBytes(WebSocketHandshake.BadRequest(error.Message)));
            }
            else if (!_closeSent)
            {
                SendClose(error.CloseCode, error.Message);
            }
            _finishWire = true;
            if (!IsClosed(_stage._appOut))
                Fail(_stage._appOut, error);
            if (!IsClosed(_stage._appIn))
                Cancel(_stage._appIn);
            ScheduleOnce(CloseTimer, _settings.CloseTimeout);
            FlushWire();
        }

        private void SendClose(WebSocketCloseCode code, string reason)
        {
            _closeSent = true;
            _wire.Enqueue(new Outgoing(EncodeFrame(WebSocketOpcode.Close, WebSocketFrameCodec.ClosePayload(code, reason)), false, false));
            ScheduleOnce(CloseTimer, _settings.CloseTimeout);
        }

        private void Send(ByteString bytes) => _wire.Enqueue(new Outgoing(bytes, false, false));

        private void FlushWire()
        {
            var wireOut = _stage._wireOut;
            if (IsClosed(wireOut))
                return;
            if (_wire.Count > 0 && IsAvailable(wireOut))
            {
                var next = _wire.Dequeue();
                if (next.IsData)
                    _dataQueued = false;
                if (next.IsPong)
                    _pongQueued = false;
                Push(wireOut, next.Bytes);
            }
            if (_wire.Count == 0 && _finishWire)
            {
                Complete(wireOut);
                if (!IsClosed(_stage._wireIn))
                    Cancel(_stage._wireIn);
                if (_completeApp && _toApp.Count == 0 && !IsClosed(_stage._appOut))
                    Complete(_stage._appOut);
                return;
            }
            PullApp();
        }

        private void FlushApp()
        {
            var appOut = _stage._appOut;
            if (IsClosed(appOut))
                return;
            if (_toApp.Count > 0 && IsAvailable(appOut))
            {
                Push(appOut, _toApp);
                _toApp = ByteString.Empty;
            }
            if (_toApp.Count == 0 && _completeApp)
                Complete(appOut);
            else
                PullWire();
        }

        private void PullApp()
        {
            var appIn = _stage._appIn;
            if (_open && !_closeSent && !_dataQueued && !IsClosed(appIn) && !HasBeenPulled(appIn))
                Pull(appIn);
        }

        private void PullWire()
        {
            var wireIn = _stage._wireIn;
            if (!_failed && !_closeReceived && _toApp.Count == 0 && !IsClosed(wireIn) && !HasBeenPulled(wireIn))
                Pull(wireIn);
        }

        private ByteString EncodeData(ByteString payload) => WebSocketFrameWriter.Data(payload, _settings.MaxMessageSize, _stage._client);

        private ByteString EncodeFrame(WebSocketOpcode opcode, byte[] payload) => WebSocketFrameWriter.Frame(opcode, ByteString.FromBytes(payload), _stage._client);
    }
}
