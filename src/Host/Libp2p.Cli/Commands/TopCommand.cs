using System.Globalization;
using System.Text;
using System.Text.Json;
using Libp2p.Actors.Resources;
using Libp2p.Host;
using Libp2p.Host.Services;
using Libp2p.Protocols.Peer;

namespace Libp2p.Cli.Commands;

/// <summary>
/// <c>p2p top [--connect MULTIADDR] [--interval SECONDS] [--once]</c>: the resource scopes of a node,
/// usage against limits, redrawn in place on a terminal or one block per interval otherwise.
/// Without <c>--connect</c> it runs a node of its own (with <c>listen</c>'s options) and shows that.
/// </summary>
internal static class TopCommand
{
    private const string ClearScreen = "\u001b[H\u001b[2J";

    public static async Task<int> RunAsync(CommandLine line, TextWriter output, CancellationToken cancellationToken)
    {
        var interval = line.LongOption("interval", 2);
        if (interval < 1)
            throw new UsageException("invalid-value", "--interval takes a number of seconds above 0");
        var once = line.Flag("once");
        var timeout = Node.Timeout(line);
        var connect = line.Option("connect") is { } text ? Node.ParsePeerAddress(text) : ((Protocols.Multiformats.Multiaddr, PeerId)?)null;
        var config = Node.ReadConfig(line);
        var settings = connect is null ? Node.ListenerSettings(line, config) : Node.DialerSettings(config, timeout);
        if (connect is null && line.Flag("serve-resources"))
            settings = settings with { Resources = true };
        if (line.Positional.Count > 0)
            throw new UsageException("unexpected-argument", $"'top' takes no arguments, got '{line.Positional[0]}'; use --connect MULTIADDR");

        using var stop = new StopSignal(cancellationToken);
        var system = Node.CreateSystem("p2p", config);
        try
        {
            var host = await ListenCommand.StartAsync(system, settings).ConfigureAwait(false);
            var shown = host.PeerId;
            Func<Task<IReadOnlyList<ScopeSnapshot>>> snapshot = () => host.ResourceSnapshotAsync();
            if (connect is var (address, peer))
            {
                await Connect(host, address, timeout).ConfigureAwait(false);
                shown = peer;
                snapshot = () => host.RemoteResourceSnapshotAsync(peer);
            }
            else if (!line.Json)
            {
                await NodeEvents.PrintAddressesAsync(host, line, output).ConfigureAwait(false);
            }
            var redraw = !once && !line.Json && Output.IsTerminal(output);
            while (true)
            {
                IReadOnlyList<ScopeSnapshot> scopes;
                try
                {
                    scopes = await snapshot().WaitAsync(timeout).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    throw new CommandFailedException($"resources of {shown}: {Failure.Describe(e)}" +
                        (connect is null ? "" : " (does the node run 'p2p listen --serve-resources'?)"), e);
                }
                if (line.Json)
                    output.WriteLine(Json(shown, scopes));
                else
                    output.Write((redraw ? ClearScreen : "") + Table(shown, scopes));
                if (once)
                    break;
                var next = Task.Delay(TimeSpan.FromSeconds(interval), CancellationToken.None);
                if (await Task.WhenAny(next, stop.Task, host.Stopped).ConfigureAwait(false) != next)
                    break;
            }
            await host.StopAsync().ConfigureAwait(false);
            return 0;
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    private static async Task Connect(Libp2pHost host, Protocols.Multiformats.Multiaddr address, TimeSpan timeout)
    {
        try
        {
            await host.ConnectAsync(address).WaitAsync(timeout + TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw new CommandFailedException($"cannot connect to {address}: {Failure.Describe(e)}", e);
        }
    }

    /// <summary>One block: a header, then a row per scope, children indented under <c>system</c>.</summary>
    internal static string Table(PeerId peer, IReadOnlyList<ScopeSnapshot> scopes)
    {
        string[] header = ["SCOPE", "CONNS IN", "CONNS OUT", "STREAMS IN", "STREAMS OUT", "FD", "MEMORY"];
        var rows = scopes.Select(s => new[]
        {
            (s.Scope == "system" ? "" : "  ") + s.Scope,
            Cell(s.Usage.NumConnsInbound, s.Limit.ConnsInbound),
            Cell(s.Usage.NumConnsOutbound, s.Limit.ConnsOutbound),
            Cell(s.Usage.NumStreamsInbound, s.Limit.StreamsInbound),
            Cell(s.Usage.NumStreamsOutbound, s.Limit.StreamsOutbound),
            Cell(s.Usage.NumFD, s.Limit.FD),
            s.Limit.Memory == long.MaxValue ? Output.Size(s.Usage.Memory) : $"{Output.Size(s.Usage.Memory)}/{Output.Size(s.Limit.Memory)}",
        }).ToList();
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"resources of {peer} at {DateTime.Now:HH:mm:ss} (used/limit; no limit shown when unlimited)\n");
        foreach (var row in rows.Prepend(header))
            text.Append(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd()).Append('\n');
        return text.Append('\n').ToString();
    }

    private static string Cell(int used, int limit) =>
        limit == int.MaxValue ? used.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{used}/{limit}");

    private static string Json(PeerId peer, IReadOnlyList<ScopeSnapshot> scopes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("event", "resources");
            json.WriteString("peer", peer.ToString());
            json.WriteString("time", DateTimeOffset.UtcNow);
            json.WriteStartArray("scopes");
            foreach (var scope in scopes)
                ResourcesService.Write(json, scope);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
