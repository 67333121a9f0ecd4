using System.Collections.Immutable;
using Akka.Actor;

namespace Libp2p.Actors.Connections;

/// <summary>
/// What serves a protocol's inbound streams: a delegate (the stream is closed when its task
/// completes, reset when it throws), or an actor <see cref="Props"/> (a new actor per stream,
/// which receives <see cref="StreamAccepted"/>; the stream is closed when it stops, reset when it fails).
/// </summary>
public abstract record StreamHandler
{
    private StreamHandler() { }

    /// <summary>A delegate handler.</summary>
    public sealed record Delegate(Func<StreamHandle, Task> Handle) : StreamHandler;

    /// <summary>An actor per stream.</summary>
    public sealed record Actor(Props Props) : StreamHandler;

    /// <summary>Wraps a delegate.</summary>
    public static StreamHandler From(Func<StreamHandle, Task> handle) => new Delegate(handle);

    /// <summary>Wraps actor props.</summary>
    public static StreamHandler From(Props props) => new Actor(props);
}

/// <summary>What a handler actor receives first: its stream.</summary>
public sealed record StreamAccepted(StreamHandle Stream);

/// <summary>The handlers by protocol ID, as the Swarm hands them to its connections.</summary>
public sealed record StreamHandlerTable(ImmutableDictionary<string, StreamHandler> Handlers)
{
    /// <summary>No handlers.</summary>
    public static StreamHandlerTable Empty { get; } = new(ImmutableDictionary<string, StreamHandler>.Empty);
}
