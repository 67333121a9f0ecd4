using System.Buffers;
using System.Diagnostics;

namespace Libp2p.Protocols.Multistream;

/// <summary>
/// One side of a multistream-select 1.0 negotiation as a sans-IO state machine, for a graph stage
/// (which may not block) as much as for async code. The caller moves the bytes:
/// <list type="number">
/// <item><see cref="Start"/> writes what this side says unprompted (the initiator's header and first proposal).</item>
/// <item><see cref="Receive"/> takes the remote's bytes, split anywhere, and writes the answers into the
/// <see cref="IBufferWriter{T}"/> given; the caller sends whatever was written, in order.</item>
/// <item>When <see cref="State"/> becomes <see cref="NegotiationState.Done"/>, <see cref="Protocol"/> is agreed and
/// the bytes of the last input after the returned count are the application's: the remote may pipeline its
/// first data right behind its last negotiation message. On <see cref="NegotiationState.Failed"/>,
/// <see cref="Error"/> says why; the caller closes or resets the stream.</item>
/// </list>
/// Nothing here blocks, spawns or throws for anything the remote sends. The two sides are
/// <see cref="MultistreamInitiator"/> (the dialer, who proposes) and <see cref="MultistreamResponder"/>
/// (the listener, who answers).
/// </summary>
public abstract class MultistreamNegotiator
{
    /// <summary>
    /// The default cap on proposals: a responder fails the negotiation past this many (<c>ls</c>
    /// included) and an initiator stops after this many refusals. go-, rust- and js-libp2p set no cap,
    /// but real dialers propose a handful at most (two security protocols, two muxers, a few versions
    /// of an application protocol); 32 leaves room for that while bounding the work one stream can ask for.
    /// </summary>
    public const int DefaultMaxAttempts = 32;

    // The longest frame: a 2-byte length (MaxLength needs no more) and the message.
    private const int MaxFrame = 2 + MultistreamMessage.MaxLength;

    // A message split across inputs is gathered here, rented only when a split happens.
    private byte[]? _pending;
    private int _pendingCount;

    private protected MultistreamNegotiator()
    {
    }

    /// <summary>A <see cref="MultistreamInitiator"/> proposing <paramref name="protocols"/> in order of preference.</summary>
    public static MultistreamInitiator Initiator(IReadOnlyList<string> protocols) => new(protocols);

    /// <summary>A <see cref="MultistreamResponder"/> accepting the first proposal found in <paramref name="supported"/>.</summary>
    public static MultistreamResponder Responder(IReadOnlyCollection<string> supported, int maxAttempts = DefaultMaxAttempts) =>
        new(supported, maxAttempts);

    /// <summary>Whether this is the proposing side.</summary>
    public abstract bool IsInitiator { get; }

    /// <summary>The negotiation's state.</summary>
    public NegotiationState State { get; private set; }

    /// <summary>The agreed protocol once <see cref="State"/> is <see cref="NegotiationState.Done"/>; null before.</summary>
    public string? Protocol { get; private set; }

    /// <summary>Why it failed, once <see cref="State"/> is <see cref="NegotiationState.Failed"/>; null otherwise.</summary>
    public MultistreamException? Error { get; private set; }

    /// <summary>Writes what this side says before hearing anything. Call it once, before <see cref="Receive"/>.</summary>
    public abstract void Start(IBufferWriter<byte> output);

    /// <summary>
    /// Feeds the remote's bytes and writes this side's answers to <paramref name="output"/>.
    /// Never throws for bad input: it fails the negotiation instead.
    /// </summary>
    /// <returns>
    /// How many bytes of <paramref name="input"/> the negotiation took. Once <see cref="State"/> is
    /// <see cref="NegotiationState.Done"/>, <c>input[returned..]</c> is application data (it can only
    /// lie in the input of the call that finished, since a message held back from an earlier call is
    /// completed by this one). While negotiating and after a failure all of it is taken. A finished
    /// negotiation takes nothing.
    /// </returns>
    public int Receive(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (State != NegotiationState.Negotiating)
            return 0;
        EnsureStarted();
        var offset = 0;
        if (_pendingCount > 0)
        {
            var take = Math.Min(input.Length, _pending!.Length - _pendingCount);
            input[..take].CopyTo(_pending.AsSpan(_pendingCount));
            var status = MultistreamMessage.TryReadFrame(_pending.AsSpan(0, _pendingCount + take), MultistreamMessage.MaxLength, out var message, out var used, out var error);
            if (status == OperationStatus.NeedMoreData)
            {
                // The buffer holds a whole frame, so running short means all of the input went in.
                Debug.Assert(take == input.Length, "a frame fits the pending buffer");
                _pendingCount += take;
                return input.Length;
            }
            if (status == OperationStatus.InvalidData)
                return FailFraming(error!, input.Length);
            // The held-back bytes were only the start of this message, so it ends inside this input.
            offset = used - _pendingCount;
            _pendingCount = 0;
            Handle(message, output);
        }
        while (State == NegotiationState.Negotiating)
        {
            var rest = input[offset..];
            var status = MultistreamMessage.TryReadFrame(rest, MultistreamMessage.MaxLength, out var message, out var used, out var error);
            if (status == OperationStatus.NeedMoreData)
            {
                Stash(rest);
                return input.Length;
            }
            if (status == OperationStatus.InvalidData)
                return FailFraming(error!, input.Length);
            offset += used;
            Handle(message, output);
        }
        ReleasePending();
        return State == NegotiationState.Done ? offset : input.Length;
    }

    /// <summary>Throws when <see cref="Receive"/> comes before a <see cref="Start"/> this side needs.</summary>
    private protected virtual void EnsureStarted()
    {
    }

    /// <summary>Acts on one whole message (newline dropped). <paramref name="message"/> is only valid during the call.</summary>
    private protected abstract void Handle(ReadOnlySpan<byte> message, IBufferWriter<byte> output);

    private protected void Succeed(string protocol)
    {
        Protocol = protocol;
        State = NegotiationState.Done;
    }

    private protected void Fail(MultistreamFailure reason, string message)
    {
        Error = new MultistreamException(reason, message);
        State = NegotiationState.Failed;
    }

    private int FailFraming(string error, int taken)
    {
        Fail(MultistreamFailure.ProtocolViolation, error);
        ReleasePending();
        return taken;
    }

    private void Stash(ReadOnlySpan<byte> partial)
    {
        _pending ??= ArrayPool<byte>.Shared.Rent(MaxFrame);
        partial.CopyTo(_pending);
        _pendingCount = partial.Length;
    }

    private void ReleasePending()
    {
        if (_pending is null)
            return;
        ArrayPool<byte>.Shared.Return(_pending);
        _pending = null;
        _pendingCount = 0;
    }
}
