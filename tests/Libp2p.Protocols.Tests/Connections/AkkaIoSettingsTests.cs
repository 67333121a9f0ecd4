namespace Libp2p.Protocols.Tests.Connections;

/// <summary>
/// The Akka.IO settings docs/configuration.md gives applications on the akka-io engine: a whole
/// Noise frame per system call. Frames of every size, at once on many connections, must arrive whole.
/// </summary>
public sealed class AkkaIoSettingsTests() : ConnectionTestKit("""
    akka.io.tcp {
      maximum-frame-size = 80k
      send-buffer-size = 160k
      receive-buffer-size = 160k
    }
    """)
{
    [Fact]
    public async Task Ten_connections_echoing_at_once_must_each_get_back_what_they_sent()
    {
        var pairs = new List<Pair>();
        for (var i = 0; i < 10; i++)
        {
            var pair = await ConnectAsync(Tcp("tcp"), "/ip4/127.0.0.1/tcp/0");
            ServeEcho(pair.Listener);
            pairs.Add(pair);
        }
        var sent = pairs.Select(_ => RandomBytes(1024 * 1024)).ToArray();

        var echoed = await Task.WhenAll(pairs.Select((pair, i) => EchoAsync(pair.Dialer, sent[i])));

        for (var i = 0; i < pairs.Count; i++)
            Assert.True(sent[i].AsSpan().SequenceEqual(echoed[i]), $"connection {i} got back other bytes than it sent");
        foreach (var pair in pairs)
        {
            pair.Dialer.Close();
            pair.Listener.Close();
            await pair.Bound.UnbindAsync();
        }
    }
}
