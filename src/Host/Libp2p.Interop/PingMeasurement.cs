using System.Globalization;
using System.Text.Json;

namespace Libp2p.Interop;

/// <summary>What a dialer reports: the time from starting the dial to the first ping's answer, and that ping's round trip.</summary>
/// <param name="HandshakePlusOneRttMillis">Dial, security and muxer handshakes, one ping stream and its round trip, in milliseconds.</param>
/// <param name="PingRttMillis">The ping's round trip alone, in milliseconds.</param>
public sealed record PingMeasurement(double HandshakePlusOneRttMillis, double PingRttMillis)
{
    /// <summary>transport-interop's JSON name of the first figure.</summary>
    public const string HandshakeJsonName = "handshakePlusOneRTTMillis";

    /// <summary>transport-interop's JSON name of the second figure: three l's, as the spec and every implementation spell it.</summary>
    public const string PingJsonName = "pingRTTMilllis";

    /// <summary>
    /// The dialer's stdout under <paramref name="contract"/>: transport-interop's one JSON line, or
    /// unified-testing's YAML block (which its runner greps for <c>latency:</c> and the indented keys).
    /// </summary>
    public string Format(InteropContract contract)
    {
        var handshake = HandshakePlusOneRttMillis.ToString("0.###", CultureInfo.InvariantCulture);
        var ping = PingRttMillis.ToString("0.###", CultureInfo.InvariantCulture);
        return contract == InteropContract.TransportInterop
            ? $"{{\"{HandshakeJsonName}\":{handshake},\"{PingJsonName}\":{ping}}}"
            : $"latency:\n  handshake_plus_one_rtt: {handshake}\n  ping_rtt: {ping}\n  unit: ms";
    }

    /// <summary>Reads a dialer's stdout under <paramref name="contract"/>; null when it holds no complete report.</summary>
    public static PingMeasurement? Parse(InteropContract contract, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return contract == InteropContract.TransportInterop ? ParseJson(lines) : ParseYaml(lines);
    }

    private static PingMeasurement? ParseJson(string[] lines)
    {
        foreach (var line in lines.Where(l => l.StartsWith('{')))
        {
            try
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.TryGetProperty(HandshakeJsonName, out var handshake) && handshake.ValueKind == JsonValueKind.Number
                    && json.RootElement.TryGetProperty(PingJsonName, out var ping) && ping.ValueKind == JsonValueKind.Number)
                    return new PingMeasurement(handshake.GetDouble(), ping.GetDouble());
            }
            catch (JsonException)
            {
                // Not the report: a diagnostic that happens to start with a brace.
            }
        }
        return null;
    }

    private static PingMeasurement? ParseYaml(string[] lines)
    {
        var start = Array.IndexOf(lines, "latency:");
        if (start < 0)
            return null;
        double? handshake = null, ping = null;
        string? unit = null;
        foreach (var line in lines.Skip(start + 1).Take(3))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                break;
            var (key, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
            switch (key)
            {
                case "handshake_plus_one_rtt": handshake = Number(value); break;
                case "ping_rtt": ping = Number(value); break;
                case "unit": unit = value; break;
            }
        }
        return handshake is { } h && ping is { } p && unit == "ms" ? new PingMeasurement(h, p) : null;
    }

    private static double? Number(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
}
