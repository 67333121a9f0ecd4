using System.Buffers;

namespace Libp2p.Protocols.Multistream;

/// <summary>
/// The dialer's side of multistream-select: sends the header and its first proposal at once, then
/// the next proposal after each <c>na</c>, until one is echoed.
/// </summary>
/// <remarks>
/// <para>It never waits for the remote header before proposing: js-libp2p listeners say nothing
/// until they have read the dialer's header, so a dialer that waited would deadlock, and the spec
/// asks for header and proposal in one packet anyway. The remote header is checked when it arrives.</para>
/// <para><b>Lazy mode</b> (rust-libp2p's <c>V1Lazy</c>, go-multistream's <c>NewMSSelect</c>): once the last
/// proposal is sent (with one protocol, at <see cref="Start"/>), <see cref="LazyProtocol"/> is set and
/// the application may write right away, saving a round trip. The wire stays plain multistream-select 1.0:
/// the data simply follows the proposal, and the responder's header and echo are still read and checked
/// here, so keep feeding <see cref="MultistreamNegotiator.Receive"/> until Done before handing received
/// bytes to the application. If the responder refuses, the negotiation fails and the data already sent
/// reaches a peer that will read it as a bad multistream message; the stream must be reset. Use it only
/// when the remote is known to support the protocol.</para>
/// </remarks>
public sealed class MultistreamInitiator : MultistreamNegotiator
{
    private readonly string[] _proposals;
    private readonly int _maxAttempts;
    private bool _started;
    private bool _headerSeen;
    private int _next;

    /// <summary>Prepares the dialer's side.</summary>
    /// <param name="protocols">The protocols to propose, most preferred first.</param>
    /// <param name="lazy">Whether to start speaking the last proposal before it is confirmed (see remarks).</param>
    /// <param name="maxAttempts">After this many refusals the initiator gives up even if it has more to propose.</param>
    /// <exception cref="ArgumentException">No protocols, one that is not a valid protocol ID, or a cap below 1.</exception>
    public MultistreamInitiator(IReadOnlyList<string> protocols, bool lazy = false, int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        if (protocols.Count == 0)
            throw new ArgumentException("multistream: propose at least one protocol", nameof(protocols));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        _proposals = new string[protocols.Count];
        for (var i = 0; i < _proposals.Length; i++)
        {
            MultistreamMessage.Validate(protocols[i]);
            _proposals[i] = protocols[i];
        }
        IsLazy = lazy;
        _maxAttempts = maxAttempts;
    }

    /// <inheritdoc />
    public override bool IsInitiator => true;

    /// <summary>Whether this initiator speaks its last proposal before the confirmation.</summary>
    public bool IsLazy { get; }

    /// <summary>The protocols it proposes, in order.</summary>
    public IReadOnlyList<string> Proposals => _proposals;

    /// <summary>
    /// In lazy mode, the protocol the application may already speak: set once the last proposal is
    /// sent. The negotiation confirms it (<see cref="NegotiationState.Done"/>) or refutes it
    /// (<see cref="NegotiationState.Failed"/>) later. Always null otherwise.
    /// </summary>
    public string? LazyProtocol { get; private set; }

    /// <summary>Whether the application may write: the protocol is agreed, or lazily assumed and not yet refuted.</summary>
    public bool MayWrite => State == NegotiationState.Done || (State == NegotiationState.Negotiating && LazyProtocol is not null);

    /// <summary>Writes the header and the first proposal in one go.</summary>
    /// <exception cref="InvalidOperationException">It was started already.</exception>
    public override void Start(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_started)
            throw new InvalidOperationException("multistream: the initiator was started already");
        _started = true;
        MultistreamMessage.Write(output, MultistreamMessage.Header);
        Propose(output);
    }

    private protected override void EnsureStarted()
    {
        if (!_started)
            throw new InvalidOperationException("multistream: start the initiator before feeding it");
    }

    private protected override void Handle(ReadOnlySpan<byte> message, IBufferWriter<byte> output)
    {
        if (!_headerSeen)
        {
            if (!message.SequenceEqual(MultistreamMessage.HeaderBytes))
            {
                Fail(MultistreamFailure.WrongHeader,
                    $"multistream: the remote sent '{MultistreamMessage.Describe(message)}' instead of the header {MultistreamMessage.Header}");
                return;
            }
            _headerSeen = true;
            return;
        }
        var proposed = _proposals[_next];
        if (MultistreamMessage.IsText(message, proposed))
        {
            Succeed(proposed);
            return;
        }
        if (!message.SequenceEqual(MultistreamMessage.NotAvailableBytes))
        {
            Fail(MultistreamFailure.ProtocolViolation,
                $"multistream: proposed '{proposed}', the remote answered '{MultistreamMessage.Describe(message)}' (expected the echo or na)");
            return;
        }
        _next++;
        if (_next == _proposals.Length)
            Fail(MultistreamFailure.NoneSupported, $"multistream: the remote supports none of {string.Join(", ", _proposals)}");
        else if (_next == _maxAttempts)
            Fail(MultistreamFailure.TooManyAttempts,
                $"multistream: the remote refused {_maxAttempts} proposals, the limit; {_proposals.Length - _next} left untried");
        else
            Propose(output);
    }

    private void Propose(IBufferWriter<byte> output)
    {
        MultistreamMessage.Write(output, _proposals[_next]);
        if (IsLazy && _next == _proposals.Length - 1)
            LazyProtocol = _proposals[_next];
    }
}
