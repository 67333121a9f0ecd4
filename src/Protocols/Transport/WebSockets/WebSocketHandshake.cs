using System.Security.Cryptography;

namespace Libp2p.Protocols.Transport.WebSockets;

/// <summary>
/// The HTTP/1.1 upgrade of RFC 6455 §4: the client's <c>GET</c> with <c>Upgrade: websocket</c>
/// and the server's <c>101 Switching Protocols</c>. Pure text in and out; extensions
/// (<c>permessage-deflate</c>) and subprotocols are never agreed: libp2p's own layers do the rest.
/// </summary>
public static class WebSocketHandshake
{
    /// <summary>The longest request or response head we read; a longer one is refused, not buffered.</summary>
    public const int MaxHeadLength = 8 * 1024;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>A fresh <c>Sec-WebSocket-Key</c>: 16 random bytes, base64.</summary>
    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary>The <c>Sec-WebSocket-Accept</c> that answers <paramref name="key"/>.</summary>
    public static string AcceptFor(string key) =>
        Convert.ToBase64String(SHA1.HashData(System.Text.Encoding.ASCII.GetBytes(key + AcceptGuid)));

    /// <summary>The client's upgrade request for <paramref name="path"/> on <paramref name="host"/> (host[:port]).</summary>
    public static byte[] Request(string host, string path, string key) => System.Text.Encoding.ASCII.GetBytes(
        $"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");

    /// <summary>The server's answer to a valid request whose key was <paramref name="key"/>.</summary>
    public static byte[] SwitchingProtocols(string key) => System.Text.Encoding.ASCII.GetBytes(
        $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {AcceptFor(key)}\r\n\r\n");

    /// <summary>The server's answer to a request it refuses; it closes the connection after it.</summary>
    public static byte[] BadRequest(string reason) => System.Text.Encoding.ASCII.GetBytes(
        $"HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\nContent-Type: text/plain\r\n" +
        $"Content-Length: {System.Text.Encoding.ASCII.GetByteCount(reason)}\r\n\r\n{reason}");

    /// <summary>
    /// The length of the head at the start of <paramref name="input"/>, its blank line included, or
    /// -1 while it is incomplete. Throws once <see cref="MaxHeadLength"/> bytes came without one.
    /// </summary>
    public static int HeadLength(ReadOnlySpan<byte> input)
    {
        var end = input[..Math.Min(input.Length, MaxHeadLength)].IndexOf(HeadEnd);
        if (end >= 0)
            return end + HeadEnd.Length;
        if (input.Length >= MaxHeadLength)
            throw new WebSocketProtocolException($"websocket: no end of the upgrade's HTTP head within {MaxHeadLength} bytes");
        return -1;
    }

    /// <summary>
    /// Checks a client's request head (what <see cref="HeadLength"/> delimited) and returns its key.
    /// Throws <see cref="WebSocketProtocolException"/> saying what is wrong.
    /// </summary>
    public static string ReadRequest(ReadOnlySpan<byte> head)
    {
        var (startLine, headers) = Parse(head);
        var parts = startLine.Split(' ');
        if (parts.Length != 3 || parts[0] != "GET" || parts[2] != "HTTP/1.1")
            throw new WebSocketProtocolException($"websocket: the upgrade request starts '{Printable(startLine)}', not 'GET <path> HTTP/1.1'");
        RequireToken(headers, "Upgrade", "websocket");
        RequireToken(headers, "Connection", "upgrade");
        if (!headers.TryGetValue("Sec-WebSocket-Version", out var version) || version.Trim() != "13")
            throw new WebSocketProtocolException($"websocket: the upgrade request asks for version '{Printable(version ?? "")}', not 13");
        if (!headers.TryGetValue("Sec-WebSocket-Key", out var key))
            throw new WebSocketProtocolException("websocket: the upgrade request has no Sec-WebSocket-Key");
        key = key.Trim();
        Span<byte> decoded = stackalloc byte[24];
        if (!Convert.TryFromBase64String(key, decoded, out var length) || length != 16)
            throw new WebSocketProtocolException($"websocket: the Sec-WebSocket-Key '{Printable(key)}' is not 16 bytes in base64");
        return key;
    }

    /// <summary>
    /// Checks a server's response head to our request with <paramref name="key"/>: 101, the
    /// upgrade headers, the right accept value, and no extension or subprotocol we did not offer.
    /// </summary>
    public static void ReadResponse(ReadOnlySpan<byte> head, string key)
    {
        var (statusLine, headers) = Parse(head);
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1] != "101")
            throw new WebSocketProtocolException($"websocket: the server answered '{Printable(statusLine)}', not 101 Switching Protocols");
        RequireToken(headers, "Upgrade", "websocket");
        RequireToken(headers, "Connection", "upgrade");
        if (!headers.TryGetValue("Sec-WebSocket-Accept", out var accept) || accept.Trim() != AcceptFor(key))
            throw new WebSocketProtocolException($"websocket: the server's Sec-WebSocket-Accept '{Printable(accept ?? "")}' does not answer our key");
        if (headers.TryGetValue("Sec-WebSocket-Extensions", out var extensions) && extensions.Trim().Length > 0)
            throw new WebSocketProtocolException($"websocket: the server agreed to the extensions '{Printable(extensions)}', which we did not offer");
        if (headers.TryGetValue("Sec-WebSocket-Protocol", out var protocol) && protocol.Trim().Length > 0)
            throw new WebSocketProtocolException($"websocket: the server chose the subprotocol '{Printable(protocol)}', which we did not offer");
    }

    private static (string StartLine, Dictionary<string, string> Headers) Parse(ReadOnlySpan<byte> head)
    {
        foreach (var b in head)
        {
            if (b >= 0x80 || (b < 0x20 && b is not (byte)'\r' and not (byte)'\n' and not (byte)'\t'))
                throw new WebSocketProtocolException("websocket: the upgrade's HTTP head has a byte that is not printable ASCII");
        }
        var lines = System.Text.Encoding.ASCII.GetString(head).Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
                throw new WebSocketProtocolException($"websocket: the header line '{Printable(line)}' has no name");
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            // Repeated headers are one comma-separated list (RFC 9110 §5.3).
            headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
        }
        return (lines[0], headers);
    }

    private static void RequireToken(Dictionary<string, string> headers, string name, string token)
    {
        if (!headers.TryGetValue(name, out var value)
            || !value.Split(',').Any(t => t.Trim().Equals(token, StringComparison.OrdinalIgnoreCase)))
            throw new WebSocketProtocolException($"websocket: the {name} header is '{Printable(value ?? "")}', without '{token}'");
    }

    private static string Printable(string text) => text.Length <= 100 ? text : text[..100] + "…";
}
