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

    /// <summary>The first of <paramref name="variants"/> narrower than <paramref name="width"/>, else the last.</summary>
    public static string Fit(int width, params string[] variants) =>
        variants.FirstOrDefault(v => v.Length < width) ?? variants[^1];

    /// <summary>A peer ID cut to its first 8 and last 4 characters, <c>12D3KooW…AmNN</c>, for tables that must fit a terminal.</summary>
    public static string ShortPeer(object peer)
    {
        var text = peer.ToString() ?? "";
        return text.Length <= 14 ? text : $"{text[..8]}…{text[^4..]}";
    }

    /// <summary>A throughput in MiB/s alone, for narrow terminals.</summary>
    public static string MiBRate(double bitsPerSecond) =>
        string.Create(CultureInfo.InvariantCulture, $"{bitsPerSecond / 8 / (1 << 20):0.0} MiB/s");

    /// <summary>A duration for people: <c>812 ms</c> under a second, else <c>1.23 s</c>.</summary>
    public static string Duration(TimeSpan time) => time < TimeSpan.FromSeconds(1)
        ? string.Create(CultureInfo.InvariantCulture, $"{time.TotalMilliseconds:0} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:0.00} s");

    /// <summary>A time left as a clock: <c>0:07</c>, <c>12:30</c>, <c>1:02:03</c>.</summary>
    public static string Clock(TimeSpan time)
    {
        if (time > TimeSpan.FromDays(1))
            return ">1 day";
        return time.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalHours}:{time.Minutes:00}:{time.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{time.Minutes}:{time.Seconds:00}");
    }
}
