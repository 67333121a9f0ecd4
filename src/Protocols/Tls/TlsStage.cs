using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using Libp2p.Protocols.Connections;

namespace Libp2p.Protocols.Tls;

/// <summary>
/// TLS as an Akka.Streams <c>BidiFlow</c> over any byte transport, on a <see cref="TlsChannel"/>:
/// plaintext in at the top and out at the bottom, ciphertext to and from the transport. The
/// caller's <c>authenticate</c> runs the handshake (client or server, with whatever certificate and
/// checks the protocol on top needs: a <c>wss</c> listener's own certificate, say). Plaintext is
/// taken from above only once the handshake succeeded; a failed handshake or a bad record fails the
/// stage with the reason.
/// </summary>
/// <remarks>Shape: <c>In1</c> plaintext from above, <c>Out1</c> ciphertext to the transport, <c>In2</c> ciphertext from the transport, <c>Out2</c> plaintext up.</remarks>
public sealed class TlsStage : GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>>
{
    private readonly Func<TlsChannel, CancellationToken, Task> _authenticate;
    private readonly Inlet<ByteString> _plainIn = new("tls.plain.in");
    private readonly Outlet<ByteString> _cipherOut = new("tls.cipher.out");
    private readonly Inlet<ByteString> _cipherIn = new("tls.cipher.in");
    private readonly Outlet<ByteString> _plainOut = new("tls.plain.out");

    /// <summary>Creates the stage; <paramref name="authenticate"/> runs once per materialization on its channel.</summary>
    public TlsStage(Func<TlsChannel, CancellationToken, Task> authenticate)
    {
        _authenticate = authenticate ?? throw new ArgumentNullException(nameof(authenticate));
        Shape = new BidiShape<ByteString, ByteString, ByteString, ByteString>(_plainIn, _cipherOut, _cipherIn, _plainOut);
    }

    /// <inheritdoc />
    public override BidiShape<ByteString, ByteString, ByteString, ByteString> Shape { get; }

    /// <inheritdoc />
    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("tls");

    /// <inheritdoc />
    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : GraphStageLogic
    {
        private readonly TlsStage _stage;
        private readonly OutputBuffer _ciphertext = new();
        private TlsChannel? _channel;
        private bool _plainInFinished;

        public Logic(TlsStage stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._cipherIn, OnCiphertext, OnTransportFinished, FailStage);
            SetHandler(stage._plainIn, OnPlaintext, OnPlaintextFinished, FailStage);
            SetHandler(stage._cipherOut, PushCiphertext, _ => CompleteStage());
            SetHandler(stage._plainOut, PushPlaintext, _ => CompleteStage());
        }

        private TlsChannel Channel => _channel!;

        public override void PreStart()
        {
            _channel = new TlsChannel(_stage._authenticate, GetAsyncCallback(OnWake));
            _channel.Start();
            Pull(_stage._cipherIn);
        }

        public override void PostStop() => _channel?.Dispose();

        private void OnCiphertext()
        {
            Channel.Feed(Grab(_stage._cipherIn).ToReadOnlySpan());
            PullCiphertext();
        }

        private void PullCiphertext()
        {
            if (!Channel.Backlogged && !IsClosed(_stage._cipherIn) && !HasBeenPulled(_stage._cipherIn))
                Pull(_stage._cipherIn);
        }

        private void OnTransportFinished()
        {
            Channel.EndInput();
            if (!Channel.IsAuthenticated)
                FailStage(new TlsException("tls: the transport closed during the handshake"));
        }

        private void OnPlaintext()
        {
            try
            {
                Channel.Encrypt(Grab(_stage._plainIn).ToReadOnlySpan(), _ciphertext);
            }
            catch (TlsException e)
            {
                FailStage(e);
                return;
            }
            PushCiphertext();
        }

        private void OnPlaintextFinished()
        {
            _plainInFinished = true;
            CompleteCiphertextWhenFlushed();
        }

        private void OnWake()
        {
            if (Channel.Error is { } error)
            {
                FailStage(error as TlsException ?? new TlsException($"tls: {error.Message}", error));
                return;
            }
            Channel.DrainCiphertext(_ciphertext);
            PushCiphertext();
            // Plaintext goes down only after the handshake, as TLS can take it.
            if (Channel.IsAuthenticated && !_plainInFinished && !IsClosed(_stage._plainIn) && !HasBeenPulled(_stage._plainIn) && _ciphertext.WrittenCount == 0)
                Pull(_stage._plainIn);
            PushPlaintext();
        }

        private void PushCiphertext()
        {
            if (_ciphertext.WrittenCount > 0 && IsAvailable(_stage._cipherOut))
            {
                Push(_stage._cipherOut, _ciphertext.Take());
                if (Channel.IsAuthenticated && !_plainInFinished && !IsClosed(_stage._plainIn) && !HasBeenPulled(_stage._plainIn))
                    Pull(_stage._plainIn);
            }
            CompleteCiphertextWhenFlushed();
        }

        private void CompleteCiphertextWhenFlushed()
        {
            if (_plainInFinished && _ciphertext.WrittenCount == 0 && !Channel.HasCiphertext)
                Complete(_stage._cipherOut);
        }

        private void PushPlaintext()
        {
            if (IsAvailable(_stage._plainOut) && Channel.TryTakePlaintext(out var buffer, out var length))
            {
                Push(_stage._plainOut, ByteString.FromBytes(buffer, 0, length));
                TlsChannel.Return(buffer);
            }
            else if (Channel.RemoteClosed)
            {
                Complete(_stage._plainOut);
                return;
            }
            PullCiphertext();
        }
    }
}
