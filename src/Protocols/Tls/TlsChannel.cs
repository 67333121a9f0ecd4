using System.Buffers;
using System.Net.Security;

namespace Libp2p.Protocols.Tls;

/// <summary>
/// An <see cref="SslStream"/> driven by a byte-pushing owner (a graph stage, or a sans-IO
/// connection core inside one) instead of a socket: the owner feeds the transport's bytes with
/// <see cref="Feed"/>, drains ciphertext with <see cref="DrainCiphertext"/>, encrypts with
/// <see cref="Encrypt"/> and takes decrypted bytes with <see cref="TryTakePlaintext"/>. TLS runs
/// on the thread pool; whenever it has something for the owner it calls the owner's wake action
/// (an async callback into the stage), so no thread ever blocks. Made for libp2p-TLS and for any
/// transport that needs TLS over a stage (a <c>wss</c> WebSocket).
/// </summary>
public sealed class TlsChannel : IDisposable
{
    /// <summary>Plaintext decrypted but not yet taken, at most: TLS stops reading past it until the owner catches up.</summary>
    public const int MaxPlaintextBacklog = 256 * 1024;

    private const int ReadSize = 16 * 1024;

    private readonly object _gate = new();
    private readonly Func<TlsChannel, CancellationToken, Task> _authenticate;
    private readonly Action _wake;
    private readonly TlsRecordPipe _pipe;
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<(byte[] Buffer, int Length)> _plaintext = new();
    private int _plaintextHeld;
    private TaskCompletionSource? _room;
    private volatile bool _authenticated;
    private volatile bool _remoteClosed;
    private volatile Exception? _error;
    private bool _disposed;

    /// <summary>Prepares a channel; nothing happens until <see cref="Start"/>.</summary>
    /// <param name="authenticate">Runs the handshake on <see cref="Ssl"/> (AuthenticateAsClientAsync or AsServerAsync); its exception fails the channel.</param>
    /// <param name="wake">Called on any thread when there is ciphertext to send, plaintext to take, or the state changed.</param>
    /// <param name="captureClientHello">Keep the first record read (a server's ClientHello) in <see cref="ClientHello"/>.</param>
    public TlsChannel(Func<TlsChannel, CancellationToken, Task> authenticate, Action wake, bool captureClientHello = false)
    {
        _authenticate = authenticate ?? throw new ArgumentNullException(nameof(authenticate));
        _wake = wake ?? throw new ArgumentNullException(nameof(wake));
        _pipe = new TlsRecordPipe(wake, captureClientHello);
        Ssl = new SslStream(_pipe, leaveInnerStreamOpen: false);
    }

    /// <summary>The TLS stream: its options and, once authenticated, what was negotiated.</summary>
    public SslStream Ssl { get; }

    /// <summary>The first bytes the server read: the ClientHello (while the handshake runs, when captured).</summary>
    public ReadOnlySpan<byte> ClientHello => _pipe.Captured;

    /// <summary>True once the handshake succeeded.</summary>
    public bool IsAuthenticated => _authenticated;

    /// <summary>Why the channel failed: the handshake, or a record that does not decrypt.</summary>
    public Exception? Error => _error;

    /// <summary>True once the remote ended its side (close_notify or the transport closed) and every plaintext byte was taken.</summary>
    public bool RemoteClosed
    {
        get
        {
            lock (_gate)
                return _remoteClosed && _plaintext.Count == 0;
        }
    }

    /// <summary>Whether ciphertext waits to be sent.</summary>
    public bool HasCiphertext => _pipe.HasOutput;

    /// <summary>Whether the owner should stop reading its transport for now: TLS has enough to chew on.</summary>
    public bool Backlogged
    {
        get
        {
            lock (_gate)
                return _plaintextHeld + _pipe.InboundBytes >= MaxPlaintextBacklog;
        }
    }

    /// <summary>Bytes held for the owner: decrypted and not yet taken, plus ciphertext not yet read by TLS.</summary>
    public int BufferedBytes
    {
        get
        {
            lock (_gate)
                return _plaintextHeld + _pipe.InboundBytes;
        }
    }

    /// <summary>Starts the handshake (and then reading) on the thread pool.</summary>
    public void Start() => _ = Task.Run(RunAsync);

    /// <summary>Gives TLS the transport's bytes (copied: <paramref name="ciphertext"/> may go after the call).</summary>
    public void Feed(ReadOnlySpan<byte> ciphertext) => _pipe.Feed(ciphertext);

    /// <summary>The transport's input ended.</summary>
    public void EndInput() => _pipe.EndInput();

    /// <summary>Moves the ciphertext TLS wrote (handshake, alerts) into <paramref name="output"/>.</summary>
    public void DrainCiphertext(IBufferWriter<byte> output) => _pipe.Drain(output);

    /// <summary>Encrypts <paramref name="plaintext"/> into TLS records written straight into <paramref name="output"/>.</summary>
    /// <exception cref="TlsException">The channel is not authenticated, or failed.</exception>
    public void Encrypt(ReadOnlySpan<byte> plaintext, IBufferWriter<byte> output)
    {
        if (!_authenticated || _error is not null)
            throw new TlsException(_error is null ? "tls: the handshake has not completed" : $"tls: the channel failed: {_error.Message}");
        using var direct = _pipe.WriteDirectlyTo(output);
        try
        {
            Ssl.Write(plaintext);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            throw new TlsException($"tls: encrypting failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// Takes the next decrypted chunk: <paramref name="buffer"/>'s first <paramref name="length"/>
    /// bytes. Give it back with <see cref="Return"/> once read.
    /// </summary>
    public bool TryTakePlaintext(out byte[] buffer, out int length)
    {
        TaskCompletionSource? room = null;
        lock (_gate)
        {
            if (!_plaintext.TryDequeue(out var chunk))
            {
                buffer = [];
                length = 0;
                return false;
            }
            (buffer, length) = chunk;
            _plaintextHeld -= chunk.Buffer.Length;
            if (_room is not null && _plaintextHeld < MaxPlaintextBacklog)
            {
                room = _room;
                _room = null;
            }
        }
        room?.TrySetResult();
        return true;
    }

    /// <summary>Gives back a chunk from <see cref="TryTakePlaintext"/>.</summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
    }

    private async Task RunAsync()
    {
        try
        {
            await _authenticate(this, _stop.Token).ConfigureAwait(false);
            _pipe.ReleaseCapture();
            _authenticated = true;
            _wake();
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _pipe.ReleaseCapture();
            lock (_gate)
            {
                if (_disposed)
                    return;
            }
            _error = e;
            _wake();
        }
    }

    private async Task ReadLoopAsync()
    {
        while (true)
        {
            Task? wait = null;
            lock (_gate)
            {
                if (_disposed)
                    return;
                if (_plaintextHeld >= MaxPlaintextBacklog)
                {
                    _room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _room.Task;
                }
            }
            if (wait is not null)
            {
                await wait.ConfigureAwait(false);
                continue;
            }
            var buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
            int read;
            try
            {
                read = await Ssl.ReadAsync(buffer.AsMemory(0, ReadSize), _stop.Token).ConfigureAwait(false);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
            lock (_gate)
            {
                if (_disposed || read == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    if (read == 0)
                        _remoteClosed = true;
                }
                else
                {
                    _plaintext.Enqueue((buffer, read));
                    _plaintextHeld += buffer.Length;
                }
            }
            _wake();
            if (read == 0)
                return;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        TaskCompletionSource? room;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            room = _room;
            _room = null;
            while (_plaintext.TryDequeue(out var chunk))
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            _plaintextHeld = 0;
        }
        room?.TrySetResult();
        _stop.Cancel();
        _pipe.Dispose();
        Ssl.Dispose();
        _stop.Dispose();
    }
}
