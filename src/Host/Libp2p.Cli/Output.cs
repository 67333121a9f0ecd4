using System.Globalization;
using System.Text.Json;

namespace Libp2p.Cli;

/// <summary>How the tool writes: plain lines for people, one JSON object a line with <c>--json</c>.</summary>
internal static class Output
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = false,
        // Readable in a terminal as well as parseable: no \u0027 for a quote in a message.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Json(TextWriter output, IReadOnlyDictionary<string, object?> fields) =>
        output.WriteLine(JsonSerializer.Serialize(fields, Options));

    /// <summary>One event: <paramref name="plain"/> as is, or <c>{"event": name, …fields}</c> with <c>--json</c>.</summary>
    public static void Event(TextWriter output, bool json, string name, string plain, IReadOnlyDictionary<string, object?> fields)
    {
        if (!json)
        {
            output.WriteLine(plain);
            return;
        }
        var line = new Dictionary<string, object?>(fields.Count + 1) { ["event"] = name };
        foreach (var (key, value) in fields)
            line[key] = value;
        Json(output, line);
    }

    /// <summary>Bytes in binary units: <c>512 B</c>, <c>64 KiB</c>, <c>1.5 MiB</c>.</summary>
    public static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 || value == Math.Floor(value)
            ? string.Create(CultureInfo.InvariantCulture, $"{value:0} {units[unit]}")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }

    /// <summary>A throughput both ways people quote it: <c>812.3 MiB/s (6814 Mbit/s)</c>.</summary>
    public static string Rate(double bitsPerSecond) =>
        string.Create(CultureInfo.InvariantCulture, $"{bitsPerSecond / 8 / (1 << 20):0.0} MiB/s ({bitsPerSecond / 1e6:0} Mbit/s)");

    /// <summary>A duration in milliseconds with two decimals.</summary>
    public static string Ms(TimeSpan time) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalMilliseconds:0.00} ms");

    /// <summary>A duration in milliseconds as a JSON number, to the microsecond.</summary>
    public static double JsonMs(TimeSpan time) => Math.Round(time.TotalMilliseconds, 3);

    /// <summary>Whether <paramref name="writer"/> is the console's error stream and a person watches it.</summary>
    public static bool IsTerminal(TextWriter writer) =>
        ReferenceEquals(writer, Console.Error) ? !Console.IsErrorRedirected
        : ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>
    /// The columns a line written to <paramref name="writer"/> may take: the terminal's width when
    /// a person watches it, else 80 (help and tables are read in files and pipes too).
    /// </summary>
    public static int Width(TextWriter writer)
    {
        if (!IsTerminal(writer))
            return 80;
        try
        {
            var width = Console.WindowWidth;
            return width > 0 ? width : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
