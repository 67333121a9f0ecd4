using System.Buffers;
using System.Text.Json;
using Akka.Actor;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Encoding;
using Libp2p.Actors.Swarm;

namespace Libp2p.Host.Services;

/// <summary>
/// <c>/libp2p-dotnet/resources/1.0.0</c>: lets a peer read this node's resource scopes, for
/// <c>p2p top --connect</c>. The client sends nothing; the server writes the snapshot as one
/// UTF-8 JSON document, prefixed by its length as an unsigned varint, and closes. Off unless
/// <c>akka.libp2p.services.resources = on</c>: it tells whoever asks which peers are connected.
/// </summary>
public static class ResourcesService
{
    /// <summary>The protocol ID.</summary>
    public const string ProtocolId = "/libp2p-dotnet/resources/1.0.0";

    /// <summary>The largest snapshot a client accepts; thousands of scopes fit.</summary>
    public const int MaxMessageSize = 4 << 20;

    /// <summary>How long one exchange may take.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Answers one request: the snapshot of <paramref name="swarm"/>'s resource manager, then end of stream.</summary>
    internal static async Task ServeAsync(StreamHandle stream, IActorRef swarm)
    {
        var snapshot = await swarm.Ask<SwarmProtocol.ResourceSnapshotIs>(SwarmProtocol.GetResourceSnapshot.Instance, Timeout).ConfigureAwait(false);
        var json = Encode(snapshot.Scopes);
        var message = new byte[Varint.GetLength((ulong)json.Length) + json.Length];
        var prefix = Varint.Write((ulong)json.Length, message);
        json.CopyTo(message.AsSpan(prefix));
        await ServiceStreams.WithIdleTimeout(stream).WriteAsync(message).ConfigureAwait(false);
        stream.CloseWrite();
    }

    /// <summary>Reads the peer's snapshot from a stream opened with <see cref="ProtocolId"/>, then closes it.</summary>
    /// <exception cref="InvalidDataException">The answer is truncated, too large or not a snapshot.</exception>
    public static Task<IReadOnlyList<ScopeSnapshot>> RunAsync(StreamHandle stream, CancellationToken cancellationToken = default) =>
        ServiceStreams.ClientAsync(stream, async io =>
        {
            // Nothing to send: closing our side tells the server the request is complete.
            stream.CloseWrite();
            var length = await ReadLengthAsync(io, cancellationToken).ConfigureAwait(false);
            var json = new byte[length];
            var read = await io.ReadAtLeastAsync(json, json.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < json.Length)
                throw new InvalidDataException($"resources: the stream ended after {read} of {json.Length} bytes");
            stream.Close();
            return Decode(json);
        });

    /// <summary>
    /// The JSON form: <c>{"scopes":[{"scope","usage":{…},"limit":{…}}]}</c> with camelCase names;
    /// an unlimited limit is <c>null</c>.
    /// </summary>
    public static byte[] Encode(IReadOnlyList<ScopeSnapshot> scopes)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("scopes");
            foreach (var scope in scopes)
                Write(json, scope);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes one scope as a JSON object (the shape <see cref="Encode"/> uses).</summary>
    public static void Write(Utf8JsonWriter json, ScopeSnapshot scope)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(scope);
        json.WriteStartObject();
        json.WriteString("scope", scope.Scope);
        json.WriteStartObject("usage");
        json.WriteNumber("connsInbound", scope.Usage.NumConnsInbound);
        json.WriteNumber("connsOutbound", scope.Usage.NumConnsOutbound);
        json.WriteNumber("streamsInbound", scope.Usage.NumStreamsInbound);
        json.WriteNumber("streamsOutbound", scope.Usage.NumStreamsOutbound);
        json.WriteNumber("fd", scope.Usage.NumFD);
        json.WriteNumber("memory", scope.Usage.Memory);
        json.WriteEndObject();
        json.WriteStartObject("limit");
        Limit(json, "conns", scope.Limit.Conns);
        Limit(json, "connsInbound", scope.Limit.ConnsInbound);
        Limit(json, "connsOutbound", scope.Limit.ConnsOutbound);
        Limit(json, "streams", scope.Limit.Streams);
        Limit(json, "streamsInbound", scope.Limit.StreamsInbound);
        Limit(json, "streamsOutbound", scope.Limit.StreamsOutbound);
        Limit(json, "fd", scope.Limit.FD);
        if (scope.Limit.Memory == long.MaxValue)
            json.WriteNull("memory");
        else
            json.WriteNumber("memory", scope.Limit.Memory);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Reads what <see cref="Encode"/> wrote.</summary>
    /// <exception cref="InvalidDataException">It is not a snapshot.</exception>
    public static IReadOnlyList<ScopeSnapshot> Decode(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var document = JsonDocument.ParseValue(ref reader);
            return [.. document.RootElement.GetProperty("scopes").EnumerateArray().Select(Read)];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"resources: not a resource snapshot: {e.Message}", e);
        }
    }

    private static ScopeSnapshot Read(JsonElement scope)
    {
        var usage = scope.GetProperty("usage");
        var limit = scope.GetProperty("limit");
        return new ScopeSnapshot(
            scope.GetProperty("scope").GetString() ?? throw new FormatException("a scope without a name"),
            new ScopeStat(
                usage.GetProperty("streamsInbound").GetInt32(),
                usage.GetProperty("streamsOutbound").GetInt32(),
                usage.GetProperty("connsInbound").GetInt32(),
                usage.GetProperty("connsOutbound").GetInt32(),
                usage.GetProperty("fd").GetInt32(),
                usage.GetProperty("memory").GetInt64()),
            new ScopeLimit
            {
                Conns = Limit(limit, "conns"),
                ConnsInbound = Limit(limit, "connsInbound"),
                ConnsOutbound = Limit(limit, "connsOutbound"),
                Streams = Limit(limit, "streams"),
                StreamsInbound = Limit(limit, "streamsInbound"),
                StreamsOutbound = Limit(limit, "streamsOutbound"),
                FD = Limit(limit, "fd"),
                Memory = limit.GetProperty("memory") is { ValueKind: JsonValueKind.Number } memory ? memory.GetInt64() : long.MaxValue,
            });
    }

    private static void Limit(Utf8JsonWriter json, string name, int value)
    {
        if (value == int.MaxValue)
            json.WriteNull(name);
        else
            json.WriteNumber(name, value);
    }

    private static int Limit(JsonElement limit, string name) =>
        limit.GetProperty(name) is { ValueKind: JsonValueKind.Number } value ? value.GetInt32() : int.MaxValue;

    private static async Task<int> ReadLengthAsync(Stream io, CancellationToken cancellationToken)
    {
        var prefix = new byte[Varint.MaxLength];
        for (var i = 0; i < prefix.Length; i++)
        {
            if (await io.ReadAsync(prefix.AsMemory(i, 1), cancellationToken).ConfigureAwait(false) == 0)
                throw new InvalidDataException("resources: the stream ended before the snapshot");
            switch (Varint.TryRead(prefix.AsSpan(0, i + 1), out var length, out _))
            {
                case OperationStatus.Done when length > MaxMessageSize:
                    throw new InvalidDataException($"resources: a snapshot of {length} bytes is over the {MaxMessageSize}-byte limit");
                case OperationStatus.Done:
                    return (int)length;
                case OperationStatus.InvalidData:
                    throw new InvalidDataException("resources: the length prefix is not a valid varint");
            }
        }
        throw new InvalidDataException("resources: the length prefix is not a valid varint");
    }
}
