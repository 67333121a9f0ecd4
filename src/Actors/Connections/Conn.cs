using Libp2p.Actors.Network;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Connections;

/// <summary>The vocabulary of a <see cref="ConnectionActor"/> (the seed's <c>Conn</c>).</summary>
public static class Conn
{
    /// <summary>Opens a stream on this connection and negotiates the first of <paramref name="Protocols"/> the remote supports; answered with <see cref="SwarmProtocol.StreamOpened"/> or <see cref="SwarmProtocol.OpenStreamFailed"/>.</summary>
    public sealed record NewStream(IReadOnlyList<string> Protocols);

    /// <summary>Asks for the open streams; answered with <see cref="StreamsAre"/>.</summary>
    public sealed record GetStreams
    {
        /// <summary>The message.</summary>
        public static GetStreams Instance { get; } = new();
    }

    /// <summary>The open streams (the seed's <c>GetStreams</c>).</summary>
    public sealed record StreamsAre(IReadOnlyList<StreamHandle> Streams);

    /// <summary>Asks for the connection's statistics; answered with <see cref="StatsAre"/>.</summary>
    public sealed record GetStats
    {
        /// <summary>The message.</summary>
        public static GetStats Instance { get; } = new();
    }

    /// <summary>The seed's <c>ConnStats</c>: the connection's stats and how many streams it carries.</summary>
    public sealed record StatsAre(Stats Stat, int NumStreams);

    /// <summary>Closes the connection gracefully; the Swarm publishes <see cref="SwarmProtocol.Disconnected"/> once it is gone.</summary>
    public sealed record Close
    {
        /// <summary>The message.</summary>
        public static Close Instance { get; } = new();
    }

    /// <summary>The Swarm's handlers changed: new inbound streams use these.</summary>
    public sealed record HandlersChanged(StreamHandlerTable Handlers);
}
