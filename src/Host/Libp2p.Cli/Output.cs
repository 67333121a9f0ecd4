using System.Text.Json;

namespace Libp2p.Cli;

/// <summary>How the tool writes: plain lines for people, one JSON object a line with <c>--json</c>.</summary>
internal static class Output
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    public static void Json(TextWriter output, IReadOnlyDictionary<string, object?> fields) =>
        output.WriteLine(JsonSerializer.Serialize(fields, Options));
}
