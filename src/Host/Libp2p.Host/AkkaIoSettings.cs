using Akka.Configuration;
using Libp2p.Protocols.Noise;

namespace Libp2p.Host;

/// <summary>
/// Akka.IO's settings for a node on the <c>akka-io</c> TCP engine. They belong to the
/// <c>ActorSystem</c> the application makes, so a host cannot set them itself: give
/// <see cref="Hocon"/> to <c>ActorSystem.Create</c> (the <c>p2p</c> tool and the interop host do).
/// With Akka's defaults every send and receive moves 4 KiB, which on a 2-core machine held one
/// stream to about half of what the same engine moves with a whole Noise frame per call
/// (docs/benchmarks.md); a host on that engine logs a warning at start while they are in force.
/// </summary>
public static class AkkaIoSettings
{
    /// <summary>A whole Noise frame per system call; Akka.IO wants socket buffers of at least twice the frame.</summary>
    public const string Hocon = "akka.io.tcp { maximum-frame-size = 80k, send-buffer-size = 160k, receive-buffer-size = 160k }";

    /// <summary>A whole Noise frame as it crosses the wire: its length prefix and up to 65,535 bytes.</summary>
    private const long WholeNoiseFrame = 2 + NoiseTransport.MaxFrameLength;

    /// <summary>The warning to log for <paramref name="config"/>, or null when its frame size carries a whole Noise frame.</summary>
    internal static string? Advice(Config config)
    {
        var frame = config.GetByteSize("akka.io.tcp.maximum-frame-size") ?? 0;
        if (frame >= WholeNoiseFrame)
            return null;
        return $"akka.io.tcp.maximum-frame-size is {Size(frame)}: the akka-io engine then sends and receives {Size(frame)} per system call. " +
               $"Give the ActorSystem {Hocon} (Libp2p.Host.AkkaIoSettings.Hocon; docs/configuration.md, \"The akka-io engine and Akka.IO's own settings\"), or use the socket engine";
    }

    private static string Size(long bytes) => bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} bytes";
}
