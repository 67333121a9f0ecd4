using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;

namespace Libp2p.Protocols.Transport;

/// <summary>
/// One end of an in-memory connection: what is pushed in goes into <c>outbound</c>, what the other
/// end wrote comes out of <c>inbound</c>. Both channels are bounded, so a reader that stops holds
/// the writer back as TCP does. Elements move without an actor hop or a task each: a channel is
/// tried first and waited on only when it is full or empty, and the wait wakes the stage through
/// one async callback. When this end stops, the other end's writes fail (as a TCP writer sees a
/// reset) and its reads end.
/// </summary>
internal sealed class MemoryPipeStage : GraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, Task<TransportConnection>>
{
    private readonly Inlet<ByteString> _in = new("memory.in");
    private readonly Outlet<ByteString> _out = new("memory.out");
    private readonly Func<(Channel<ByteString> Outbound, Channel<ByteString> Inbound, Task<TransportConnection> Connected)> _connect;

    /// <summary>A stage that connects (makes or takes its two channels) when it is materialized.</summary>
    public MemoryPipeStage(Func<(Channel<ByteString> Outbound, Channel<ByteString> Inbound, Task<TransportConnection> Connected)> connect)
    {
        _connect = connect;
        Shape = new FlowShape<ByteString, ByteString>(_in, _out);
    }

    /// <inheritdoc />
    public override FlowShape<ByteString, ByteString> Shape { get; }

    /// <inheritdoc />
    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("libp2p-memory");

    /// <inheritdoc />
    public override ILogicAndMaterializedValue<Task<TransportConnection>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var (outbound, inbound, connected) = _connect();
        return new LogicAndMaterializedValue<Task<TransportConnection>>(new Logic(this, outbound, inbound, connected), connected);
    }

    private sealed class Logic : GraphStageLogic
    {
        private readonly MemoryPipeStage _stage;
        private readonly Channel<ByteString> _outbound;
        private readonly Channel<ByteString> _inbound;
        private readonly Task<TransportConnection> _connected;
        private readonly Action _onWritable;
        private readonly Action _onReadable;
        private ValueTask<bool> _writable;
        private ValueTask<bool> _readable;
        private ByteString? _unwritten;
        private bool _waitingToRead;

        public Logic(MemoryPipeStage stage, Channel<ByteString> outbound, Channel<ByteString> inbound, Task<TransportConnection> connected) : base(stage.Shape)
        {
            _stage = stage;
            _outbound = outbound;
            _inbound = inbound;
            _connected = connected;
            var writable = GetAsyncCallback(Writable);
            var readable = GetAsyncCallback(Readable);
            // Made once: the channels' waits complete through these without allocating.
            _onWritable = () => writable();
            _onReadable = () => readable();
            SetHandler(stage._in, OnPush, () => _outbound.Writer.TryComplete(), e =>
            {
                _outbound.Writer.TryComplete(e);
                FailStage(e);
            });
            SetHandler(stage._out, OnPull, _ => CompleteStage());
        }

        public override void PreStart()
        {
            if (_connected.IsFaulted)
            {
                FailStage(_connected.Exception!.GetBaseException());
                return;
            }
            Pull(_stage._in);
        }

        public override void PostStop()
        {
            _outbound.Writer.TryComplete();
            // The other end's writes fail from now on, as a TCP writer's do after a reset.
            _inbound.Writer.TryComplete(new TransportException("memory: the connection was closed by the remote"));
        }

        private void OnPush()
        {
            var bytes = Grab(_stage._in);
            if (_outbound.Writer.TryWrite(bytes))
            {
                Pull(_stage._in);
                return;
            }
            _unwritten = bytes;
            WaitToWrite();
        }

        private void WaitToWrite()
        {
            _writable = _outbound.Writer.WaitToWriteAsync();
            if (_writable.IsCompleted)
                Writable();
            else
                _writable.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onWritable);
        }

        private void Writable()
        {
            bool open;
            try
            {
                open = _writable.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                FailStage(e);
                return;
            }
            if (!open)
            {
                FailStage(new TransportException("memory: the connection was closed by the remote"));
                return;
            }
            if (_unwritten is { } bytes && !_outbound.Writer.TryWrite(bytes))
            {
                WaitToWrite();
                return;
            }
            _unwritten = null;
            if (!IsClosed(_stage._in))
                Pull(_stage._in);
        }

        private void OnPull()
        {
            if (_inbound.Reader.TryRead(out var bytes))
            {
                Push(_stage._out, bytes);
                return;
            }
            if (_waitingToRead)
                return;
            _waitingToRead = true;
            _readable = _inbound.Reader.WaitToReadAsync();
            if (_readable.IsCompleted)
                Readable();
            else
                _readable.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReadable);
        }

        private void Readable()
        {
            _waitingToRead = false;
            bool more;
            try
            {
                more = _readable.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                FailStage(e);
                return;
            }
            if (!more)
            {
                // The other end finished writing: its bytes are all read.
                CompleteStage();
                return;
            }
            if (IsAvailable(_stage._out))
                OnPull();
        }
    }
}
