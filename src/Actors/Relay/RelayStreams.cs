using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Relay;

namespace Libp2p.Actors.Relay;

/// <summary>
/// What every hop and stop stream takes from the resource manager before its first message: the
/// relay service's scope (<see cref="CircuitRelay.ServiceName"/>), so the service's limits bound how
/// many such streams a node holds, and one message's worth of memory, as go-libp2p's relay does.
/// </summary>
internal static class RelayStreams
{
    /// <summary>Attaches <paramref name="stream"/> to the relay service and reserves one message.</summary>
    /// <exception cref="ResourceLimitExceededException">The service, or a scope above the stream, is full; the exception names it.</exception>
    public static async Task AttachAsync(StreamHandle stream)
    {
        await stream.Scope.SetServiceAsync(CircuitRelay.ServiceName).ConfigureAwait(false);
        await stream.Scope.ReserveMemoryAsync(CircuitRelay.MaxMessageSize, ReservationPriority.Always).ConfigureAwait(false);
    }
}
