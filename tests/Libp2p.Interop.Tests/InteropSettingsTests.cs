using FsCheck;
using FsCheck.Fluent;

namespace Libp2p.Interop.Tests;

public sealed class InteropSettingsTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Transport_interop_variables_are_read_with_the_specs_defaults()
    {
        var settings = InteropSettings.FromEnvironment(Environment(("transport", "ws"), ("muxer", "mplex"), ("security", "tls"), ("is_dialer", "true")));

        Assert.Equal(new InteropSettings(InteropContract.TransportInterop, true, "redis:6379", "ws", "tls", "mplex", "0.0.0.0", TimeSpan.FromSeconds(180), null), settings);
        Assert.Equal("listenerAddr", settings.ListenerKey);
    }

    [Fact]
    public void Transport_interop_takes_ip_redis_addr_and_test_timeout_seconds()
    {
        var settings = InteropSettings.FromEnvironment(Environment(("transport", "tcp"), ("muxer", "yamux"), ("security", "noise"), ("is_dialer", "false"),
            ("ip", "127.0.0.1"), ("redis_addr", "127.0.0.1:6380"), ("test_timeout_seconds", "7")));

        Assert.Equal(new InteropSettings(InteropContract.TransportInterop, false, "127.0.0.1:6380", "tcp", "noise", "yamux", "127.0.0.1", TimeSpan.FromSeconds(7), null), settings);
    }

    [Fact]
    public void Unified_testing_variables_name_the_key_after_TEST_KEY()
    {
        var settings = InteropSettings.FromEnvironment(Environment(("IS_DIALER", "false"), ("REDIS_ADDR", "transport-redis:6379"), ("TEST_KEY", "a5b50d5e"),
            ("TRANSPORT", "tcp"), ("SECURE_CHANNEL", "noise"), ("MUXER", "yamux"), ("LISTENER_IP", "0.0.0.0"), ("DEBUG", "false")));

        Assert.Equal(new InteropSettings(InteropContract.UnifiedTesting, false, "transport-redis:6379", "tcp", "noise", "yamux", "0.0.0.0", TimeSpan.FromSeconds(180), "a5b50d5e"), settings);
        Assert.Equal("a5b50d5e_listener_multiaddr", settings.ListenerKey);
    }

    [Theory]
    [InlineData("transport", "", "the transport environment variable is not set")]
    [InlineData("transport", "quic-v1", "transport 'quic-v1' is not one of tcp, ws")]
    [InlineData("security", "plaintext", "security 'plaintext' is not one of noise, tls")]
    [InlineData("muxer", "/yamux/1.0.0", "muxer '/yamux/1.0.0' is not one of yamux, mplex")]
    [InlineData("is_dialer", "yes", "is_dialer must be true or false, not 'yes'")]
    [InlineData("ip", "::", "ip must be an IPv4 address, not '::'")]
    [InlineData("test_timeout_seconds", "-1", "test_timeout_seconds must be a positive number of seconds, not '-1'")]
    public void A_missing_or_unknown_value_is_refused_naming_its_variable(string name, string value, string message)
    {
        var variables = new Dictionary<string, string> { ["transport"] = "tcp", ["muxer"] = "yamux", ["security"] = "noise", ["is_dialer"] = "true", [name] = value };

        var error = Assert.Throws<InteropConfigurationException>(() => InteropSettings.FromEnvironment(n => variables.GetValueOrDefault(n)));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Unified_testing_without_a_TEST_KEY_is_refused()
    {
        var error = Assert.Throws<InteropConfigurationException>(() => InteropSettings.FromEnvironment(Environment(("IS_DIALER", "true"), ("REDIS_ADDR", "r:6379"),
            ("TRANSPORT", "tcp"), ("SECURE_CHANNEL", "noise"), ("MUXER", "yamux"))));

        Assert.Equal("the TEST_KEY environment variable is not set", error.Message);
    }

    [FsCheck.Xunit.Property]
    public Property Settings_written_as_variables_read_back_the_same() =>
        Prop.ForAll(Arbitrary(), settings =>
        {
            var variables = settings.ToEnvironment();
            return InteropSettings.FromEnvironment(n => variables.GetValueOrDefault(n)) == settings;
        });

    private static Arbitrary<InteropSettings> Arbitrary() =>
        (from contract in Gen.Elements(InteropContract.TransportInterop, InteropContract.UnifiedTesting)
         from dialer in Gen.Elements(true, false)
         from port in Gen.Choose(1, 65535)
         from transport in Gen.Elements(InteropSettings.Transports.ToArray())
         from security in Gen.Elements(InteropSettings.SecurityChannels.ToArray())
         from muxer in Gen.Elements(InteropSettings.Muxers.ToArray())
         from ip in Gen.Elements("0.0.0.0", "127.0.0.1", "10.1.2.3")
         from seconds in Gen.Choose(1, 600)
         from key in Gen.Choose(0, int.MaxValue).Select(k => k.ToString("x8", System.Globalization.CultureInfo.InvariantCulture))
         select new InteropSettings(contract, dialer, $"127.0.0.1:{port}", transport, security, muxer, ip,
             contract == InteropContract.TransportInterop ? TimeSpan.FromSeconds(seconds) : InteropSettings.DefaultTimeout,
             contract == InteropContract.UnifiedTesting ? key : null)).ToArbitrary();
}
