using System.Buffers;

namespace Libp2p.Protocols.Multistream;

/// <summary>
/// The listener's side of multistream-select: waits for the dialer's header, answers with its own,
/// then echoes the first supported proposal, answering <c>na</c> to the others and the protocol list
/// to <c>ls</c>.
/// </summary>
/// <remarks>
/// <para>It speaks only after reading the dialer's header (as rust- and js-libp2p do; the spec lets
/// either side start), so a stranger that is not speaking multistream-select hears nothing. A header
/// and proposals that arrive together are answered together, as the spec recommends.</para>
/// <para>Anything that is not a protocol ID (no leading <c>'/'</c>, a newline inside, not UTF-8, <c>na</c>)
/// is answered <c>na</c> without consulting the supported set, as go-multistream does, rather than failing as rust-libp2p
/// does: the dialer can still propose something else. Each proposal and <c>ls</c> counts against the
/// attempt cap; one more fails with <see cref="MultistreamFailure.TooManyAttempts"/>. Messages are capped
/// at <see cref="MultistreamMessage.MaxLength"/> bytes.</para>
/// </remarks>
public sealed class MultistreamResponder : MultistreamNegotiator
{
    // Exactly one of the two: a list matched byte-wise without allocating, or a predicate over the decoded text.
    private readonly string[]? _supported;
    private readonly Func<string, bool>? _supports;
    private readonly IReadOnlyCollection<string> _listed;
    private readonly int _maxAttempts;
    private bool _headerSeen;
    private int _attempts;

    /// <summary>Accepts the proposals found in <paramref name="supported"/> (ordinal match); <c>ls</c> lists them.</summary>
    /// <param name="supported">The protocols served. A set is asked through its own <c>Contains</c>; other collections are copied.</param>
    /// <param name="maxAttempts">Proposals (and <c>ls</c>) answered before the negotiation fails.</param>
    /// <exception cref="ArgumentException">A protocol is not a valid protocol ID, or the cap is below 1.</exception>
    public MultistreamResponder(IReadOnlyCollection<string> supported, int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentNullException.ThrowIfNull(supported);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        foreach (var protocol in supported)
            MultistreamMessage.Validate(protocol);
        if (supported is IReadOnlySet<string> set)
        {
            _supports = set.Contains;
            _listed = supported;
        }
        else
        {
            _supported = [.. supported];
            _listed = _supported;
        }
        _maxAttempts = maxAttempts;
    }

    /// <summary>Accepts the proposals <paramref name="supports"/> approves; <c>ls</c> lists <paramref name="listed"/>.</summary>
    /// <param name="supports">Asked only with well-formed protocol IDs; it may match more than it lists (prefixes, versions).</param>
    /// <param name="listed">The answer to <c>ls</c>, read when one arrives; its entries must be valid protocol IDs.</param>
    /// <param name="maxAttempts">Proposals (and <c>ls</c>) answered before the negotiation fails.</param>
    /// <exception cref="ArgumentOutOfRangeException">The cap is below 1.</exception>
    public MultistreamResponder(Func<string, bool> supports, IReadOnlyCollection<string> listed, int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentNullException.ThrowIfNull(supports);
        ArgumentNullException.ThrowIfNull(listed);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        _supports = supports;
        _listed = listed;
        _maxAttempts = maxAttempts;
    }

    /// <inheritdoc />
    public override bool IsInitiator => false;

    /// <summary>How many proposals (and <c>ls</c> requests) were answered so far.</summary>
    public int Attempts => _attempts;

    /// <summary>Writes nothing: the responder's header answers the dialer's.</summary>
    public override void Start(IBufferWriter<byte> output) => ArgumentNullException.ThrowIfNull(output);

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
            MultistreamMessage.Write(output, MultistreamMessage.Header);
            return;
        }
        if (_attempts == _maxAttempts)
        {
            Fail(MultistreamFailure.TooManyAttempts, $"multistream: the remote made more than {_maxAttempts} proposals, the limit");
            return;
        }
        _attempts++;
        if (message.SequenceEqual(MultistreamMessage.ListBytes))
        {
            MultistreamMessage.WriteList(output, _listed);
            return;
        }
        if (Select(message) is { } protocol)
        {
            MultistreamMessage.Write(output, protocol);
            Succeed(protocol);
            return;
        }
        MultistreamMessage.Write(output, MultistreamMessage.NotAvailable);
    }

    private string? Select(ReadOnlySpan<byte> proposal)
    {
        // Only well-formed IDs are looked up, so a predicate never sees a command or garbage.
        if (proposal.IsEmpty || proposal[0] != (byte)'/' || proposal.Contains((byte)'\n'))
            return null;
        if (_supported is not null)
        {
            foreach (var protocol in _supported)
            {
                if (MultistreamMessage.IsText(proposal, protocol))
                    return protocol;
            }
            return null;
        }
        return MultistreamMessage.TryDecode(proposal, out var text) && _supports!(text) ? text : null;
    }
}
