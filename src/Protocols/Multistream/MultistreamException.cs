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
    /// <summary>The remote broke the framing (length, newline, UTF-8) or sent something out of turn.</summary>
    ProtocolViolation,

    /// <summary>The remote's first message was not <c>/multistream/1.0.0</c>.</summary>
    WrongHeader,

    /// <summary>The responder refused every protocol the initiator had to propose.</summary>
    NoneSupported,

    /// <summary>More proposals were made (responder) or refused (initiator) than the limit allows.</summary>
    TooManyAttempts,
}

/// <summary>A multistream-select negotiation failed; <see cref="Reason"/> tells the kind.</summary>
public sealed class MultistreamException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">The kind of failure.</param>
    /// <param name="message">What happened, for people.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public MultistreamException(MultistreamFailure reason, string message, Exception? inner = null)
        : base(message, inner) => Reason = reason;

    /// <summary>The kind of failure.</summary>
    public MultistreamFailure Reason { get; }
}
