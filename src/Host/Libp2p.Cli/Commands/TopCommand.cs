using System.Globalization;
using System.Text;
using System.Text.Json;
using Libp2p.Actors.Resources;
using Libp2p.Actors.Swarm;
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
        var wide = line.Flag("wide");
        var timeout = Node.Timeout(line);
        var connect = line.Option("connect") is { } text ? Node.ParsePeerAddress(text) : ((Protocols.Multiformats.Multiaddr, PeerId)?)null;
        if (connect is not null && new[] { "listen", "key", "serve-resources" }.FirstOrDefault(o => line.Option(o) is not null) is { } own)
            throw new UsageException("unexpected-argument", $"--{own} is for top's own node, and with --connect it runs none");
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
                // The connection manager and the gater are read of our own node only: the resources
                // protocol carries scopes, nothing else.
                var managed = connect is null ? await ManagedAsync(host).WaitAsync(timeout).ConfigureAwait(false) : null;
                var addresses = connect is null ? await host.AddressStateAsync().WaitAsync(timeout).ConfigureAwait(false) : null;
                if (line.Json)
                    output.WriteLine(Json(shown, scopes, managed, addresses));
                else
                    output.Write((redraw ? ClearScreen : "") + Table(shown, scopes, wide, Output.Width(output))
                        + (managed is null ? "" : Managed(managed.Value.Info, managed.Value.Gated, wide ? int.MaxValue : Output.Width(output)))
                        + (addresses is null ? "" : Reachability(addresses, wide ? int.MaxValue : Output.Width(output))));
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

    private static async Task<(ConnectionManagerInfo? Info, IReadOnlyDictionary<GaterHook, long> Gated)?> ManagedAsync(Libp2pHost host)
    {
        ConnectionManagerInfo? info = null;
        if (host.Settings.Swarm.ConnectionManager is not null)
            info = await host.Network.ConnectionManager.GetInfoAsync().ConfigureAwait(false);
        return (info, await host.Network.GaterCountsAsync().ConfigureAwait(false));
    }

    /// <summary>
    /// Two lines under the table: the connection manager's counts and its last trim, and the
    /// gater's refusals by hook; each cut to <paramref name="width"/>.
    /// </summary>
    internal static string Managed(ConnectionManagerInfo? info, IReadOnlyDictionary<GaterHook, long> gated, int width = int.MaxValue)
    {
        var manager = info is null
            ? "connmgr off"
            : string.Create(CultureInfo.InvariantCulture, $"connmgr {info.Connections} conns, {info.Peers} peers, {info.ProtectedPeers} protected (low {info.Settings.LowWater}, high {info.Settings.HighWater}); ")
              + (info.LastTrim is not { } trim ? "no trim yet"
                  : string.Create(CultureInfo.InvariantCulture, $"last trim {trim.At.ToLocalTime():HH:mm:ss} ({trim.Cause}) {trim.CountBefore}->{trim.CountAfter}, closed {trim.Closed.Count} peers")
                    + (trim.Skipped is null ? "" : " (nothing to close)"));
        var gater = gated.Count == 0 ? "gater refused none"
            : "gater refused " + string.Join(", ", gated.OrderBy(g => g.Key).Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Value} at {g.Key}")));
        return $"{Cut(manager, width - 1)}\n{Cut(gater, width - 1)}\n";
    }

    /// <summary>One line under the table: the reachability verdict, the NAT type, and how many addresses of each kind the node knows; cut to <paramref name="width"/>.</summary>
    internal static string Reachability(Libp2p.Actors.AutoNat.AddressManagerProtocol.StateIs state, int width = int.MaxValue) =>
        Cut(string.Create(CultureInfo.InvariantCulture,
            $"reachability {state.Reachability}, nat tcp {state.TcpNatType} udp {state.UdpNatType}; addrs {state.Advertised.Count} advertised, {state.Observed.Count} observed, {state.Confirmed.Count} confirmed, {state.Unreachable.Count} unreachable, {state.Relayed.Count} relayed"),
            width - 1) + "\n";

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

    /// <summary>
    /// One block: a header, then a row per scope, children indented under <c>system</c>. Unless
    /// <paramref name="wide"/>, it fits <paramref name="width"/> columns: peer IDs are shortened
    /// (<c>12D3KooW…AmNN</c>), headers are short, limits go when even that is too wide, and scope
    /// names are cut last.
    /// </summary>
    internal static string Table(PeerId peer, IReadOnlyList<ScopeSnapshot> scopes, bool wide = true, int width = 80)
    {
        if (wide)
        {
            return Render($"resources of {peer} at {DateTime.Now:HH:mm:ss} (used/limit; no limit shown when unlimited)",
                ["SCOPE", "CONNS IN", "CONNS OUT", "STREAMS IN", "STREAMS OUT", "FD", "MEMORY"], Rows(scopes, limits: true, s => s), int.MaxValue);
        }
        string[] header = ["SCOPE", "C-IN", "C-OUT", "S-IN", "S-OUT", "FD", "MEM"];
        var title = $"resources of {Output.ShortPeer(peer)} at {DateTime.Now:HH:mm:ss}";
        var withLimits = Rows(scopes, limits: true, ShortScope);
        if (Fits(header, withLimits, width))
            return Render(Output.Fit(width, $"{title} (used/limit; C conns, S streams)", title), header, withLimits, width);
        // One space between columns here: every column saved goes to the scope names.
        return Render(Output.Fit(width, $"{title} (used; limits with --wide)", title), header, Rows(scopes, limits: false, ShortScope), width, " ");
    }

    private static List<string[]> Rows(IReadOnlyList<ScopeSnapshot> scopes, bool limits, Func<string, string> name) => scopes.Select(s => new[]
    {
        (s.Scope == "system" ? "" : "  ") + name(s.Scope),
        Cell(s.Usage.NumConnsInbound, s.Limit.ConnsInbound, limits),
        Cell(s.Usage.NumConnsOutbound, s.Limit.ConnsOutbound, limits),
        Cell(s.Usage.NumStreamsInbound, s.Limit.StreamsInbound, limits),
        Cell(s.Usage.NumStreamsOutbound, s.Limit.StreamsOutbound, limits),
        Cell(s.Usage.NumFD, s.Limit.FD, limits),
        !limits || s.Limit.Memory == long.MaxValue ? Output.Size(s.Usage.Memory) : $"{Output.Size(s.Usage.Memory)}/{Output.Size(s.Limit.Memory)}",
    }).ToList();

    /// <summary>Scope names carry peer IDs (<c>peer:12D3KooW…</c>, <c>service-peer:libp2p.identify/12D3KooW…</c>): those are shortened.</summary>
    private static string ShortScope(string scope)
    {
        // The peer ID is what follows the kind's colon, or a service's last slash.
        var cut = Math.Max(scope.IndexOf(':', StringComparison.Ordinal), scope.LastIndexOf('/'));
        return cut > 0 && PeerId.TryParse(scope[(cut + 1)..], out var peer) ? $"{scope[..(cut + 1)]}{Output.ShortPeer(peer)}" : scope;
    }

    private static int[] Widths(string[] header, List<string[]> rows) =>
        header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();

    /// <summary>Whether the table, with scope names cut to at most 20 columns, fits.</summary>
    private static bool Fits(string[] header, List<string[]> rows, int width)
    {
        var widths = Widths(header, rows);
        return Math.Min(widths[0], 20) + widths.Skip(1).Sum() + 2 * (widths.Length - 1) < width;
    }

    private static string Render(string title, string[] header, List<string[]> rows, int width, string separator = "  ")
    {
        var widths = Widths(header, rows);
        // What the scope column may take: the rest of the line, the last column left free.
        var others = widths.Skip(1).Sum() + separator.Length * (widths.Length - 1);
        var scopeWidth = width == int.MaxValue ? widths[0] : Math.Clamp(width - 1 - others, header[0].Length, widths[0]);
        widths[0] = scopeWidth;
        var text = new StringBuilder().Append(title).Append('\n');
        foreach (var row in rows.Prepend(header))
        {
            var cells = row.Select((cell, i) => i == 0 ? Cut(cell, scopeWidth).PadRight(scopeWidth) : i == row.Length - 1 ? cell : cell.PadRight(widths[i]));
            var rendered = string.Join(separator, cells).TrimEnd();
            // A terminal narrower than even the shortest layout gets cut lines rather than wrapped ones.
            text.Append(width != int.MaxValue && rendered.Length >= width ? Cut(rendered, width - 1) : rendered).Append('\n');
        }
        return text.Append('\n').ToString();
    }

    private static string Cut(string text, int width) => text.Length <= width ? text : width <= 1 ? text[..Math.Max(0, width)] : $"{text[..(width - 1)]}…";

    private static string Cell(int used, int limit, bool limits) =>
        !limits || limit == int.MaxValue ? used.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{used}/{limit}");

    private static string Json(PeerId peer, IReadOnlyList<ScopeSnapshot> scopes, (ConnectionManagerInfo? Info, IReadOnlyDictionary<GaterHook, long> Gated)? managed = null,
        Libp2p.Actors.AutoNat.AddressManagerProtocol.StateIs? addresses = null)
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
            if (managed is var (info, gated))
            {
                if (info is not null)
                {
                    json.WriteStartObject("connectionManager");
                    json.WriteNumber("connections", info.Connections);
                    json.WriteNumber("peers", info.Peers);
                    json.WriteNumber("protectedPeers", info.ProtectedPeers);
                    json.WriteNumber("lowWater", info.Settings.LowWater);
                    json.WriteNumber("highWater", info.Settings.HighWater);
                    json.WriteNumber("trims", info.Trims);
                    if (info.LastTrim is { } trim)
                    {
                        json.WriteStartObject("lastTrim");
                        json.WriteString("cause", trim.Cause.ToString());
                        json.WriteString("at", trim.At);
                        json.WriteNumber("countBefore", trim.CountBefore);
                        json.WriteNumber("countAfter", trim.CountAfter);
                        json.WriteNumber("peersClosed", trim.Closed.Count);
                        if (trim.Skipped is not null)
                            json.WriteString("skipped", trim.Skipped);
                        json.WriteEndObject();
                    }
                    json.WriteEndObject();
                }
                json.WriteStartObject("gaterRefused");
                foreach (var (hook, count) in gated)
                    json.WriteNumber(hook.ToString(), count);
                json.WriteEndObject();
            }
            if (addresses is not null)
            {
                json.WriteString("reachability", addresses.Reachability.ToString());
                json.WriteStartObject("natDeviceType");
                json.WriteString("tcp", addresses.TcpNatType.ToString());
                json.WriteString("udp", addresses.UdpNatType.ToString());
                json.WriteEndObject();
                void List(string name, IEnumerable<Protocols.Multiformats.Multiaddr> list)
                {
                    json.WriteStartArray(name);
                    foreach (var address in list)
                        json.WriteStringValue(address.ToString());
                    json.WriteEndArray();
                }
                List("advertised", addresses.Advertised);
                List("observed", addresses.Observed.Select(o => o.Address));
                List("confirmed", addresses.Confirmed);
                List("unreachable", addresses.Unreachable);
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
