using Akka.Configuration;
using Libp2p.Protocols.Transport;

namespace Libp2p.Host.Tests;

/// <summary>The akka-io engine runs on the application's Akka.IO settings; a host says when they hold it back.</summary>
public sealed class AkkaIoEngineTests : HostTestKit
{
    [Fact]
    public async Task A_host_on_the_akka_io_engine_with_Akka_IO_s_default_frame_size_must_warn_once_and_say_what_to_set()
    {
        await EventFilter.Warning(contains: "akka.io.tcp.maximum-frame-size is 4 KiB").ExpectOneAsync(async () =>
            await StartAsync(s => s with { Swarm = s.Swarm with { Transports = [TcpTransport.Instance] } }));
    }

    [Fact]
    public async Task A_host_on_the_socket_engine_must_not_warn_about_Akka_IO()
    {
        await EventFilter.Warning(contains: "akka.io.tcp").ExpectAsync(0, async () =>
            await StartAsync(s => s with { Swarm = s.Swarm with { Transports = [SocketTransport.Instance] } }));
    }

    [Theory]
    [InlineData("", "akka.io.tcp.maximum-frame-size is 4 KiB: the akka-io engine then sends and receives 4 KiB per system call. Give the ActorSystem akka.io.tcp { maximum-frame-size = 80k, send-buffer-size = 160k, receive-buffer-size = 160k } (Libp2p.Host.AkkaIoSettings.Hocon; docs/configuration.md, \"The akka-io engine and Akka.IO's own settings\"), or use the socket engine")]
    [InlineData("akka.io.tcp { maximum-frame-size = 32k, send-buffer-size = 64k, receive-buffer-size = 64k }", "akka.io.tcp.maximum-frame-size is 32 KiB: the akka-io engine then sends and receives 32 KiB per system call. Give the ActorSystem akka.io.tcp { maximum-frame-size = 80k, send-buffer-size = 160k, receive-buffer-size = 160k } (Libp2p.Host.AkkaIoSettings.Hocon; docs/configuration.md, \"The akka-io engine and Akka.IO's own settings\"), or use the socket engine")]
    [InlineData(AkkaIoSettings.Hocon, null)]
    public void The_advice_names_a_frame_size_under_a_whole_Noise_frame(string hocon, string? advice)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(Sys.Settings.Config);

        Assert.Equal(advice, AkkaIoSettings.Advice(config));
    }
}
