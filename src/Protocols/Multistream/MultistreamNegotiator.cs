using System.Buffers;

namespace Libp2p.Protocols.Multistream;

/// <summary>Where a negotiation stands.</summary>
public enum NegotiationState
{
    /// <summary>Waiting for the remote.</summary>
    Negotiating,

    /// <summary>A protocol was agreed: <see cref="MultistreamNegotiator.Protocol"/>.</summary>
    Done,

    /// <summary>No agreement: <see cref="MultistreamNegotiator.Error"/> says why.</summary>
    Failed,
}

/// <summary>Why a negotiation failed.</summary>
public enum MultistreamFailure
{
    /// <summary>The remote broke the framing or sent something out of turn.</summary>
    ProtocolViolation,

    /// <summary>The remote does not speak multistream-select 1.0.</summary>
    WrongHeader,

    /// <summary>The remote supports none of the protocols proposed.</summary>
    NoneSupported,

    /// <summary>The initiator proposed more times than the responder allows.</summary>
    TooManyAttempts,
}

/// <summary>A multistream-select negotiation failed; <see cref="Reason"/> tells the kind.</summary>
public sealed class MultistreamException(MultistreamFailure reason, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The kind of failure.</summary>
    public MultistreamFailure Reason { get; } = reason;
}

/// <summary>
/// One side of a multistream-select 1.0 negotiation as a sans-IO state machine. It takes the
/// remote's bytes in any split, writes its own messages to an <see cref="IBufferWriter{T}"/>, and
/// stops consuming at the exact end of the last negotiation message, so whatever the remote
/// pipelined after it (application data) stays with the caller.
/// </summary>
/// <remarks>
/// The initiator sends its header and first proposal at once without waiting for the remote
/// header: js-libp2p listeners speak only after reading the dialer's header, so a dialer that
/// waited would deadlock. The responder answers the header only after reading the remote's.
/// </remarks>
public sealed class MultistreamNegotiator
{
    /// <summary>Proposals a responder answers before giving up on the initiator (rust-libp2p allows no fewer).</summary>
    public const int DefaultMaxAttempts = 32;

    private readonly IReadOnlyList<string>? _proposals;
    private readonly Func<string, bool>? _supports;
    private readonly Func<IEnumerable<string>>? _list;
    private readonly int _maxAttempts;
    private byte[] _pending = [];
    private bool _headerSeen;
    private int _next;
    private int _attempts;

    private MultistreamNegotiator(IReadOnlyList<string>? proposals, Func<string, bool>? supports, Func<IEnumerable<string>>? list, int maxAttempts)
    {
        _proposals = proposals;
        _supports = supports;
        _list = list;
        _maxAttempts = maxAttempts;
    }

    /// <summary>The side that proposes <paramref name="protocols"/>, in order of preference.</summary>
    public static MultistreamNegotiator Initiator(IReadOnlyList<string> protocols)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        if (protocols.Count == 0)
            throw new ArgumentException("propose at least one protocol", nameof(protocols));
        foreach (var protocol in protocols)
            MultistreamMessage.Validate(protocol);
        return new MultistreamNegotiator(protocols, null, null, 0);
    }

    /// <summary>The side that accepts the first proposal in <paramref name="supported"/>.</summary>
    public static MultistreamNegotiator Responder(IReadOnlyCollection<string> supported, int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentNullException.ThrowIfNull(supported);
        return new MultistreamNegotiator(null, supported.Contains, () => supported, maxAttempts);
    }

    /// <summary>The side that accepts a proposal when <paramref name="supports"/> says so; <paramref name="list"/> answers <c>ls</c>.</summary>
    public static MultistreamNegotiator Responder(Func<string, bool> supports, Func<IEnumerable<string>> list, int maxAttempts = DefaultMaxAttempts) =>
        new(null, supports ?? throw new ArgumentNullException(nameof(supports)), list ?? throw new ArgumentNullException(nameof(list)), maxAttempts);

    /// <summary>Whether this is the proposing side.</summary>
    public bool IsInitiator => _proposals is not null;

    /// <summary>The negotiation's state.</summary>
    public NegotiationState State { get; private set; }

    /// <summary>The agreed protocol once <see cref="State"/> is <see cref="NegotiationState.Done"/>.</summary>
    public string? Protocol { get; private set; }

    /// <summary>Why it failed, once <see cref="State"/> is <see cref="NegotiationState.Failed"/>.</summary>
    public MultistreamException? Error { get; private set; }

    /// <summary>Writes what this side says first: the initiator's header and first proposal; nothing for a responder.</summary>
    public void Start(IBufferWriter<byte> output)
    {
        if (!IsInitiator)
            return;
        MultistreamMessage.Write(output, MultistreamMessage.Header);
        MultistreamMessage.Write(output, _proposals![0]);
    }

    /// <summary>
    /// Feeds the remote's bytes and writes the answers. Returns how many bytes of
    /// <paramref name="input"/> belong to the negotiation; once <see cref="State"/> is Done, the rest
    /// is application data. Never throws for bad input: it fails the negotiation instead.
    /// </summary>
    public int Receive(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        if (State != NegotiationState.Negotiating)
            return 0;
        // Partial messages are kept across calls; this call's bytes are appended for parsing.
        var buffered = _pending.Length;
        ReadOnlySpan<byte> data = buffered == 0 ? input : [.. _pending, .. input];
        var offset = 0;
        try
        {
            while (State == NegotiationState.Negotiating)
            {
                if (MultistreamMessage.TryRead(data[offset..], out var message, out var used) != OperationStatus.Done)
                    break;
                offset += used;
                Handle(message, output);
            }
        }
        catch (FormatException e)
        {
            Fail(MultistreamFailure.ProtocolViolation, e.Message, e);
            _pending = [];
            return input.Length;
        }
        if (State == NegotiationState.Negotiating)
        {
            _pending = data[offset..].ToArray();
            return input.Length;
        }
        _pending = [];
        return Math.Max(0, offset - buffered);
    }

    private void Handle(string message, IBufferWriter<byte> output)
    {
        if (!_headerSeen)
        {
            if (message != MultistreamMessage.Header)
            {
                Fail(MultistreamFailure.WrongHeader, $"multistream: the remote sent '{message}' instead of the header {MultistreamMessage.Header}");
                return;
            }
            _headerSeen = true;
            if (!IsInitiator)
                MultistreamMessage.Write(output, MultistreamMessage.Header);
            return;
        }
        if (IsInitiator)
            HandleAnswer(message, output);
        else
            HandleProposal(message, output);
    }

    private void HandleAnswer(string message, IBufferWriter<byte> output)
    {
        var proposed = _proposals![_next];
        if (message == proposed)
        {
            Protocol = proposed;
            State = NegotiationState.Done;
        }
        else if (message == MultistreamMessage.NotAvailable)
        {
            if (++_next == _proposals.Count)
                Fail(MultistreamFailure.NoneSupported, $"multistream: the remote supports none of {string.Join(", ", _proposals)}");
            else
                MultistreamMessage.Write(output, _proposals[_next]);
        }
        else
            Fail(MultistreamFailure.ProtocolViolation, $"multistream: proposed '{proposed}', the remote answered '{message}'");
    }

    private void HandleProposal(string message, IBufferWriter<byte> output)
    {
        if (++_attempts > _maxAttempts)
        {
            Fail(MultistreamFailure.TooManyAttempts, $"multistream: the remote made more than {_maxAttempts} proposals");
            return;
        }
        if (message == MultistreamMessage.List)
            MultistreamMessage.WriteList(output, _list!());
        else if (message != MultistreamMessage.NotAvailable && _supports!(message))
        {
            MultistreamMessage.Write(output, message);
            Protocol = message;
            State = NegotiationState.Done;
        }
        else
            MultistreamMessage.Write(output, MultistreamMessage.NotAvailable);
    }

    private void Fail(MultistreamFailure reason, string message, Exception? inner = null)
    {
        Error = new MultistreamException(reason, message, inner);
        State = NegotiationState.Failed;
    }
}
