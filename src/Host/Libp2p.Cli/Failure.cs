using System.Net.Sockets;
using Akka.Streams;
using Libp2p.Actors.Network;
using Libp2p.Protocols.Noise;

namespace Libp2p.Cli;

/// <summary>Turns an exception from the network into the one line a user reads after <c>p2p: </c>.</summary>
internal static class Failure
{
    public static string Describe(Exception error)
    {
        // The cause worth naming is often wrapped: by the dial, by Akka's ask, by a task.
        if (Find<SocketException>(error) is { } socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused (nothing listens there)",
                SocketError.TimedOut => "the connection attempt timed out",
                SocketError.HostUnreachable or SocketError.NetworkUnreachable => "no route to the host",
                _ => Commands.Node.OneLine(socket.Message),
            };
        }
        // The TCP transport names refusals and unreachable hosts (with the socket error, above); a
        // failed connect it could not tell apart, because the next try went through, is left here.
        if (Find<StreamTcpException>(error) is { } tcp && tcp.Message.StartsWith("Connection failed", StringComparison.Ordinal))
            return "the TCP connection failed, and a second try went through: the listener may have just started";
        if (Find<NoiseException>(error) is { } noise && noise.Message.Contains("but the remote is", StringComparison.Ordinal))
            return $"peer ID mismatch: {Commands.Node.OneLine(noise.Message)}";
        if (error is DialException { Attempts.Count: > 0 } dial)
            return Commands.Node.OneLine(dial.Attempts[0].Error.Message);
        if (error is AggregateException { InnerExceptions.Count: 1 } aggregate)
            return Describe(aggregate.InnerExceptions[0]);
        return Commands.Node.OneLine(error.Message);
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
