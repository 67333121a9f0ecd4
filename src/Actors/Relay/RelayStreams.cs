using Google.Protobuf;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Relay;
using Status = Libp2p.Protocols.Relay.Pb.Status;

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
        await stream.Scope.SetServiceAsync(ServiceNames.Relay).ConfigureAwait(false);
        await stream.Scope.ReserveMemoryAsync(CircuitRelay.MaxMessageSize, ReservationPriority.Always).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts serving an inbound hop or stop stream: sets its deadlines, attaches it
    /// (<see cref="AttachAsync"/>) and reads its request. A full service is answered
    /// <c>RESOURCE_LIMIT_EXCEEDED</c> before anything is read, a request that does not parse
    /// <c>MALFORMED_MESSAGE</c>; then, as when the remote closed without asking, there is no request.
    /// </summary>
    /// <param name="stream">The inbound stream.</param>
    /// <param name="parser">The request's parser.</param>
    /// <param name="what">Names the protocol in errors, e.g. <c>circuit relay hop</c>.</param>
    /// <param name="timeout">Each read and write's deadline, and the whole request's.</param>
    /// <param name="answer">Answers a status in the protocol's own message.</param>
    /// <returns>The request; null when it was refused or never came.</returns>
    public static async Task<T?> ReadRequestAsync<T>(StreamHandle stream, MessageParser<T> parser, string what, TimeSpan timeout, Func<Stream, Status, Task> answer)
        where T : class, IMessage<T>
    {
        var io = stream.Stream;
        io.ReadTimeout = io.WriteTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
        try
        {
            await AttachAsync(stream).ConfigureAwait(false);
        }
        catch (ResourceLimitExceededException)
        {
            // The relay service is full: say so before reading what was asked.
            await answer(io, Status.ResourceLimitExceeded).ConfigureAwait(false);
            return null;
        }
        // One deadline for the whole request, not only each read's: a peer trickling a byte just
        // inside every read's deadline would hold the service's stream for thousands of them.
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            return await DelimitedMessages.ReadAsync(io, parser, CircuitRelay.MaxMessageSize, what, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"{what}: no whole request within {timeout.TotalSeconds:0.###} s");
        }
        catch (InvalidDataException)
        {
            await answer(io, Status.MalformedMessage).ConfigureAwait(false);
            return null;
        }
    }
}
