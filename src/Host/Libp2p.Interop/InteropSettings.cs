using System.Globalization;

namespace Libp2p.Interop;

/// <summary>Which published interop contract a run follows; they differ in variable names, Redis keys and output.</summary>
public enum InteropContract
{
    /// <summary>
    /// libp2p/test-plans <c>transport-interop</c>: lower-case variables, the listener RPUSHes
    /// <c>listenerAddr</c>, the dialer BLPOPs it and prints one line of JSON.
    /// </summary>
    TransportInterop,

    /// <summary>
    /// libp2p/unified-testing <c>transport</c>: upper-case variables, the listener SETs
    /// <c>&lt;TEST_KEY&gt;_listener_multiaddr</c>, the dialer polls it and prints a YAML <c>latency:</c> block.
    /// </summary>
    UnifiedTesting,
}

/// <summary>A harness run's configuration is missing or malformed; the message names the variable.</summary>
public sealed class InteropConfigurationException(string message) : Exception(message);

/// <summary>One side of one ping test, as the environment describes it.</summary>
/// <param name="Contract">The contract whose variables were found.</param>
/// <param name="IsDialer">Dial (and report) or listen.</param>
/// <param name="RedisAddress"><c>host:port</c> of the Redis both sides meet at.</param>
/// <param name="Transport"><c>tcp</c> or <c>ws</c>.</param>
/// <param name="Security"><c>noise</c> or <c>tls</c>.</param>
/// <param name="Muxer"><c>yamux</c> or <c>mplex</c>.</param>
/// <param name="ListenIp">The IPv4 address the listener binds (<c>0.0.0.0</c>: every interface).</param>
/// <param name="Timeout">The whole test's deadline.</param>
/// <param name="TestKey">unified-testing's namespace of the Redis key; null under transport-interop.</param>
public sealed record InteropSettings(
    InteropContract Contract,
    bool IsDialer,
    string RedisAddress,
    string Transport,
    string Security,
    string Muxer,
    string ListenIp,
    TimeSpan Timeout,
    string? TestKey)
{
    /// <summary>The transports the harness speaks.</summary>
    public static IReadOnlyList<string> Transports { get; } = ["tcp", "ws"];

    /// <summary>The security protocols the harness speaks, by their contract names.</summary>
    public static IReadOnlyList<string> SecurityChannels { get; } = ["noise", "tls"];

    /// <summary>The muxers the harness speaks, by their contract names.</summary>
    public static IReadOnlyList<string> Muxers { get; } = ["yamux", "mplex"];

    /// <summary>Both contracts' default deadline (transport-interop's <c>test_timeout_seconds</c>, unified-testing's runner).</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(180);

    /// <summary>transport-interop's Redis key: a list the listener pushes to and the dialer pops.</summary>
    public const string TransportInteropKey = "listenerAddr";

    /// <summary>The Redis key the listener's address is published under.</summary>
    public string ListenerKey => Contract == InteropContract.TransportInterop ? TransportInteropKey : $"{TestKey}_listener_multiaddr";

    /// <summary>
    /// Reads the variables of whichever contract is present: unified-testing when <c>IS_DIALER</c>
    /// or <c>TEST_KEY</c> is set, transport-interop otherwise.
    /// </summary>
    /// <exception cref="InteropConfigurationException">A required variable is missing or a value is not one the harness speaks.</exception>
    public static InteropSettings FromEnvironment(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        string? Get(string name) => variable(name) is { Length: > 0 } value ? value : null;
        string Required(string name) => Get(name) ?? throw new InteropConfigurationException($"the {name} environment variable is not set");

        var unified = Get("IS_DIALER") is not null || Get("TEST_KEY") is not null;
        if (unified)
        {
            return Validate(new InteropSettings(
                InteropContract.UnifiedTesting,
                Boolean("IS_DIALER", Required("IS_DIALER")),
                Required("REDIS_ADDR"),
                Required("TRANSPORT"),
                Required("SECURE_CHANNEL"),
                Required("MUXER"),
                Get("LISTENER_IP") ?? "0.0.0.0",
                DefaultTimeout,
                Required("TEST_KEY")), "TRANSPORT", "SECURE_CHANNEL", "MUXER", "LISTENER_IP");
        }
        return Validate(new InteropSettings(
            InteropContract.TransportInterop,
            Boolean("is_dialer", Required("is_dialer")),
            Get("redis_addr") ?? "redis:6379",
            Required("transport"),
            Required("security"),
            Required("muxer"),
            Get("ip") ?? "0.0.0.0",
            Get("test_timeout_seconds") is { } seconds ? Seconds(seconds) : DefaultTimeout,
            null), "transport", "security", "muxer", "ip");
    }

    /// <summary>The variables that describe these settings under their contract, for starting a harness process.</summary>
    public IReadOnlyDictionary<string, string> ToEnvironment() => Contract == InteropContract.TransportInterop
        ? new Dictionary<string, string>
        {
            ["transport"] = Transport,
            ["muxer"] = Muxer,
            ["security"] = Security,
            ["is_dialer"] = IsDialer ? "true" : "false",
            ["ip"] = ListenIp,
            ["redis_addr"] = RedisAddress,
            ["test_timeout_seconds"] = ((long)Math.Ceiling(Timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
        }
        : new Dictionary<string, string>
        {
            ["IS_DIALER"] = IsDialer ? "true" : "false",
            ["REDIS_ADDR"] = RedisAddress,
            ["TEST_KEY"] = TestKey ?? throw new InvalidOperationException("unified-testing settings need a TEST_KEY"),
            ["TRANSPORT"] = Transport,
            ["SECURE_CHANNEL"] = Security,
            ["MUXER"] = Muxer,
            ["LISTENER_IP"] = ListenIp,
        };

    private static InteropSettings Validate(InteropSettings settings, string transport, string security, string muxer, string ip)
    {
        OneOf(transport, settings.Transport, Transports);
        OneOf(security, settings.Security, SecurityChannels);
        OneOf(muxer, settings.Muxer, Muxers);
        if (!System.Net.IPAddress.TryParse(settings.ListenIp, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw new InteropConfigurationException($"{ip} must be an IPv4 address, not '{settings.ListenIp}'");
        return settings;
    }

    private static void OneOf(string name, string value, IReadOnlyList<string> known)
    {
        if (!known.Contains(value))
            throw new InteropConfigurationException($"{name} '{value}' is not one of {string.Join(", ", known)}");
    }

    private static bool Boolean(string name, string value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new InteropConfigurationException($"{name} must be true or false, not '{value}'"),
    };

    private static TimeSpan Seconds(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= int.MaxValue
            ? TimeSpan.FromSeconds(seconds)
            : throw new InteropConfigurationException($"test_timeout_seconds must be a positive number of seconds, not '{value}'");
}
