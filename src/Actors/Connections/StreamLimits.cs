namespace Libp2p.Actors.Connections;

/// <summary>
/// What a peer may make a connection hold while its streams negotiate their protocol. Until then a
/// stream counts against the node-wide transient scope, so these keep one peer from taking that
/// budget from every other: a deadline (js-libp2p resets a stream that has not negotiated within
/// 10 s) and a cap per connection (rust-libp2p's <c>max_negotiating_inbound_streams</c>).
/// </summary>
/// <param name="NegotiationTimeout">How long multistream-select may take on one stream, either direction; then the stream is reset.</param>
/// <param name="MaxNegotiatingInbound">Inbound streams of one connection negotiating at once; more wait in the connection's backlog (<c>ConnectionStageSettings.InboundStreamBacklog</c>), which resets what does not fit.</param>
public sealed record StreamLimits(TimeSpan NegotiationTimeout, int MaxNegotiatingInbound)
{
    /// <summary>
    /// 10 s, as js-libp2p and go-libp2p's host; 32 a connection, so that the 8 connections one
    /// address may hold (the resource manager's per-subnet limit) take at most half of the
    /// default transient budget.
    /// </summary>
    public static StreamLimits Default { get; } = new(TimeSpan.FromSeconds(10), 32);
}
