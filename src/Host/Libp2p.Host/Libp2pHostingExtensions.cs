using Akka.Hosting;
using Libp2p.Protocols.Crypto;

namespace Libp2p.Host;

/// <summary>What an app on Microsoft.Extensions.Hosting sets in code; the rest comes from <c>akka.libp2p</c>.</summary>
public sealed class Libp2pOptions
{
    /// <summary>Addresses to listen on, replacing <c>akka.libp2p.listen</c>.</summary>
    public IList<string>? Listen { get; set; }

    /// <summary>The identity key file (<c>akka.libp2p.identity.key-file</c>): loaded, or created with mode 0600.</summary>
    public string? KeyFile { get; set; }

    /// <summary>An identity key already in memory; wins over <see cref="KeyFile"/>.</summary>
    public PrivateKey? Identity { get; set; }

    /// <summary>More HOCON under <c>akka.libp2p</c>, such as resource limits.</summary>
    public string? Hocon { get; set; }
}

/// <summary>The Akka.Hosting entry: <c>services.AddAkka("app", b => b.WithLibp2p(o => …))</c>.</summary>
public static class Libp2pHostingExtensions
{
    /// <summary>
    /// Starts the actor system's default <see cref="Libp2pHost"/> with the system (on the
    /// <see cref="TimerScheduler"/>, which costs nothing while idle, unless the application chose
    /// a scheduler; and with <see cref="AkkaIoSettings.Hocon"/> unless it set Akka.IO's), registers its
    /// root actor in the <see cref="ActorRegistry"/> under <see cref="Libp2pHost"/>, and stops it
    /// when the application stops (the host takes part in coordinated shutdown).
    /// </summary>
    public static AkkaConfigurationBuilder WithLibp2p(this AkkaConfigurationBuilder builder, Action<Libp2pOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new Libp2pOptions();
        configure?.Invoke(options);
        var hocon = new System.Text.StringBuilder();
        if (options.Listen is { } listen)
            hocon.AppendLine($"akka.libp2p.listen = [{string.Join(", ", listen.Select(Quote))}]");
        if (options.KeyFile is { } keyFile)
            hocon.AppendLine($"akka.libp2p.identity.key-file = {Quote(keyFile)}");
        if (options.Hocon is { } extra)
            hocon.AppendLine($"akka.libp2p {{\n{extra}\n}}");
        if (hocon.Length > 0)
            builder.AddHocon(hocon.ToString(), HoconAddMode.Prepend);
        // Fallbacks: an application that chose its own scheduler or Akka.IO settings keeps them.
        builder.AddHocon(TimerScheduler.Hocon, HoconAddMode.Append);
        builder.AddHocon(AkkaIoSettings.Hocon, HoconAddMode.Append);
        if (options.Identity is { } identity)
            builder.AddSetup(new Libp2pSetup { Identity = identity });
        return builder.WithActors((system, registry) => registry.Register<Libp2pHost>(Libp2pHost.Get(system).Actor));
    }

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
