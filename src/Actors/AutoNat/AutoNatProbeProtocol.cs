using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.AutoNat;

/// <summary>The vocabulary of the <see cref="AutoNatProbeActor"/>.</summary>
public static class AutoNatProbeProtocol
{
    /// <summary>A peer's protocols, as identify (or its push) told them: one that lists <c>/libp2p/autonat/2/dial-request</c> is a server to ask.</summary>
    public sealed record PeerProtocols(PeerId Peer, IReadOnlyList<string> Protocols);

    /// <summary>Run a round now (unless one is running).</summary>
    public sealed record ProbeNow
    {
        /// <summary>The message.</summary>
        public static ProbeNow Instance { get; } = new();
    }

    /// <summary>Asks what the prober knows; answered with <see cref="ProbeStateIs"/>.</summary>
    public sealed record GetProbeState
    {
        /// <summary>The message.</summary>
        public static GetProbeState Instance { get; } = new();
    }

    /// <summary>A server that failed: how often in a row, and until when it is left alone.</summary>
    public sealed record ServerBackoff(PeerId Server, int Failures, DateTimeOffset Until);

    /// <summary>The prober's state.</summary>
    /// <param name="Servers">Peers that said they serve AutoNAT v2.</param>
    /// <param name="Backoff">Servers left alone after failing.</param>
    /// <param name="Checks">Checks that said something about an address (reachable or unreachable).</param>
    /// <param name="Failures">Checks that failed, E_DIAL_BACK_ERROR answers included.</param>
    /// <param name="Refusals">Checks the server refused (E_DIAL_REFUSED: it would dial none of the addresses); not failures.</param>
    /// <param name="LastFailure">What the last failed check said, or null.</param>
    public sealed record ProbeStateIs(IReadOnlyList<PeerId> Servers, IReadOnlyList<ServerBackoff> Backoff, long Checks, long Failures, long Refusals, string? LastFailure);
}

/// <summary>Published after each periodic check the server answered: which address it dialed and how that went.</summary>
/// <param name="LocalPeer">The node that asked.</param>
/// <param name="Result">The server's answer.</param>
public sealed record AutoNatChecked(PeerId LocalPeer, AutoNatResult Result);
