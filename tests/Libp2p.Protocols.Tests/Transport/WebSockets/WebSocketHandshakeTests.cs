using Libp2p.Protocols.Transport.WebSockets;

namespace Libp2p.Protocols.Tests.Transport.WebSockets;

public sealed class WebSocketHandshakeTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    private static byte[] Ascii(string text) => System.Text.Encoding.ASCII.GetBytes(text);

    [Fact]
    public void The_accept_value_must_be_RFC_6455s_example() =>
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketHandshake.AcceptFor(Key));

    [Fact]
    public void Our_request_must_read_back_with_its_key_and_our_answer_must_satisfy_the_client()
    {
        var request = WebSocketHandshake.Request("127.0.0.1:4001", "/", Key);
        Assert.Equal(request.Length, WebSocketHandshake.HeadLength(request));
        Assert.Equal(Key, WebSocketHandshake.ReadRequest(request));
        WebSocketHandshake.ReadResponse(WebSocketHandshake.SwitchingProtocols(Key), Key);
    }

    [Fact]
    public void A_head_must_be_delimited_by_its_blank_line_and_bounded()
    {
        Assert.Equal(-1, WebSocketHandshake.HeadLength(Ascii("GET / HTTP/1.1\r\nHost: a\r\n")));
        Assert.Equal(27, WebSocketHandshake.HeadLength(Ascii("GET / HTTP/1.1\r\nHost: a\r\n\r\nframes")));
        var error = Assert.Throws<WebSocketProtocolException>(() => WebSocketHandshake.HeadLength(new byte[WebSocketHandshake.MaxHeadLength]));
        Assert.Equal("websocket: no end of the upgrade's HTTP head within 8192 bytes", error.Message);
    }

    [Fact]
    public void A_request_with_lower_case_and_listed_tokens_must_be_accepted()
    {
        var request = Ascii($"GET /x HTTP/1.1\r\nhost: a\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\nsec-websocket-key: {Key}\r\n" +
            "sec-websocket-version: 13\r\nsec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
        Assert.Equal(Key, WebSocketHandshake.ReadRequest(request));
    }

    [Theory]
    [InlineData("POST / HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + Key, "Sec-WebSocket-Version: 13",
        "websocket: the upgrade request starts 'POST / HTTP/1.1', not 'GET <path> HTTP/1.1'")]
    [InlineData("GET / HTTP/1.1", "Upgrade: h2c", "Connection: Upgrade", "Sec-WebSocket-Key: " + Key, "Sec-WebSocket-Version: 13",
        "websocket: the Upgrade header is 'h2c', without 'websocket'")]
    [InlineData("GET / HTTP/1.1", "Upgrade: websocket", "Connection: close", "Sec-WebSocket-Key: " + Key, "Sec-WebSocket-Version: 13",
        "websocket: the Connection header is 'close', without 'upgrade'")]
    [InlineData("GET / HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + Key, "Sec-WebSocket-Version: 8",
        "websocket: the upgrade request asks for version '8', not 13")]
    [InlineData("GET / HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade", "X: y", "Sec-WebSocket-Version: 13",
        "websocket: the upgrade request has no Sec-WebSocket-Key")]
    [InlineData("GET / HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: c2hvcnQ=", "Sec-WebSocket-Version: 13",
        "websocket: the Sec-WebSocket-Key 'c2hvcnQ=' is not 16 bytes in base64")]
    [InlineData("GET / HTTP/1.1", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: not base64!!", "Sec-WebSocket-Version: 13",
        "websocket: the Sec-WebSocket-Key 'not base64!!' is not 16 bytes in base64")]
    public void A_bad_request_must_be_refused_with_what_is_wrong(string start, string upgrade, string connection, string key, string version, string message)
    {
        var request = Ascii($"{start}\r\nHost: a\r\n{upgrade}\r\n{connection}\r\n{key}\r\n{version}\r\n\r\n");
        Assert.Equal(message, Assert.Throws<WebSocketProtocolException>(() => WebSocketHandshake.ReadRequest(request)).Message);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", "websocket: the server answered 'HTTP/1.1 200 OK', not 101 Switching Protocols")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n",
        "websocket: the server's Sec-WebSocket-Accept 'AAAA' does not answer our key")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        "websocket: the server agreed to the extensions 'permessage-deflate', which we did not offer")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
        "websocket: the server chose the subprotocol 'chat', which we did not offer")]
    [InlineData("HTTP/1.1 101 Switching\u00ff\r\n\r\n", "websocket: the upgrade's HTTP head has a byte that is not printable ASCII")]
    public void A_bad_response_must_be_refused_with_what_is_wrong(string response, string message) =>
        Assert.Equal(message, Assert.Throws<WebSocketProtocolException>(() => WebSocketHandshake.ReadResponse(System.Text.Encoding.Latin1.GetBytes(response), Key)).Message);
}
