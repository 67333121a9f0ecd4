namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>The limits and deadlines of every WebSocket connection; immutable, changed with <c>with { … }</c>.</summary>
public sealed record WebSocketSettings
{
    /// <summary>The defaults (HOCON <c>akka.libp2p.websocket</c>).</summary>
    public static WebSocketSettings Default { get; } = new();

    /// <summary>
    /// The largest frame, and the largest message over all its fragments, accepted from a peer
    /// (default 4 MiB); a larger one is refused with close code 1009 before its payload arrives.
    /// Payloads are passed on as they arrive, so this bounds what a peer may announce, not what we
    /// hold. Our own frames are at most this long, too.
    /// </summary>
    public int MaxMessageSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>How long the HTTP upgrade may take, from the TCP connection to the last byte of the 101 (default 10 s).</summary>
    public TimeSpan UpgradeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long we wait for the peer's close frame, and for ours to be sent, before cutting the connection (default 5 s).</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
