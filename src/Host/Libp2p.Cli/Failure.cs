using System.Net.Sockets;
using Akka.Streams;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Noise;

namespace Libp2p.Cli;

/// <summary>Turns an exception from the network into the one line a user reads after <c>p2p: </c>, and a stable code for <c>--json</c>.</summary>
internal static class Failure
{
    /// <summary>The one line that says what went wrong.</summary>
    public static string Describe(Exception error) => Explain(error).Text;

    /// <summary>The stable <c>error</c> code of a failure, for <c>--json</c>.</summary>
    public static string Code(Exception error) => Explain(error).Code;

    private static (string Code, string Text) Explain(Exception error)
    {
        // The cause worth naming is often wrapped: by the dial, by Akka's ask, by a task.
        if (Find<SocketException>(error) is { } socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => ("connection-refused", "connection refused (nothing listens there)"),
                SocketError.TimedOut => ("timeout", "no answer: the connection attempt timed out"),
                SocketError.HostUnreachable or SocketError.NetworkUnreachable => ("no-route", "no route to the host"),
                SocketError.AddressAlreadyInUse => ("address-in-use", "address already in use (another process listens there)"),
                SocketError.AddressNotAvailable => ("address-not-available", "address not available (no interface of this host has it)"),
                SocketError.AccessDenied => ("permission-denied", "permission denied (ports below 1024 need privileges)"),
                _ => ("network", Commands.Node.OneLine(socket.Message)),
            };
        }
        if (Find<NoTransportException>(error) is { } transport)
            return ("no-transport", transport.Message);
        // The TCP transport names refusals and unreachable hosts (with the socket error, above); a
        // failed connect it could not tell apart, because the next try went through, is left here.
        if (Find<StreamTcpException>(error) is { } tcp && tcp.Message.StartsWith("Connection failed", StringComparison.Ordinal))
            return ("connection-failed", "the TCP connection failed, and a second try went through: the listener may have just started");
        if (Find<NoiseException>(error) is { } noise && noise.Message.Contains("but the remote is", StringComparison.Ordinal))
            return ("peer-id-mismatch", $"peer ID mismatch: {Commands.Node.OneLine(noise.Message)}");
        if (Find<ResourceLimitExceededException>(error) is { } limit)
            return ("resource-limit", Commands.Node.OneLine(limit.Message));
        if (error is DialException dial)
        {
            if (dial.Attempts.Count == 0 && dial.Message.Contains("dial backoff", StringComparison.Ordinal))
                return ("dial-backoff", Commands.Node.OneLine(dial.Message[(dial.Message.IndexOf("dial backoff", StringComparison.Ordinal))..]));
            // Timed out with every address still connecting or upgrading: nothing answered, which
            // is not the same as being refused.
            // The upgrade's own deadline comes wrapped in the closed connection.
            if (dial.Attempts.Count > 0 && dial.Attempts.All(a => Find<TimeoutException>(a.Error) is not null))
                return ("timeout", $"no answer: {Commands.Node.OneLine(Find<TimeoutException>(dial.Attempts[0].Error)!.Message)}");
            if (dial.Attempts.Count > 0)
                return ("dial-failed", Commands.Node.OneLine(dial.Attempts[0].Error.Message));
            return ("dial-failed", Commands.Node.OneLine(dial.Message));
        }
        if (error is NoRemoteAddressesException)
            return ("no-addresses", Commands.Node.OneLine(error.Message));
        if (error is TimeoutException)
            return ("timeout", Commands.Node.OneLine(error.Message));
        if (error is AggregateException { InnerExceptions.Count: 1 } aggregate)
            return Explain(aggregate.InnerExceptions[0]);
        return ("failed", Commands.Node.OneLine(error.Message));
    }

    private static T? Find<T>(Exception error) where T : Exception
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
            if (e is DialException dial)
            {
                foreach (var (_, attempt) in dial.Attempts)
                {
                    if (Find<T>(attempt) is { } inAttempt)
                        return inAttempt;
                }
            }
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (Find<T>(inner) is { } inInner)
                        return inInner;
                }
            }
        }
        return null;
    }
}
