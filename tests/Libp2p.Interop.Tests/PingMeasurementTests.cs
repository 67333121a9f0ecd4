using FsCheck;
using FsCheck.Fluent;

namespace Libp2p.Interop.Tests;

public sealed class PingMeasurementTests
{
    [Fact]
    public void Transport_interop_report_is_one_json_line_with_the_specs_three_ls()
    {
        var text = new PingMeasurement(12.5, 0.25).Format(InteropContract.TransportInterop);

        Assert.Equal("""{"handshakePlusOneRTTMillis":12.5,"pingRTTMilllis":0.25}""", text);
    }

    [Fact]
    public void Unified_testing_report_is_the_yaml_latency_block_its_runner_greps_for()
    {
        var text = new PingMeasurement(5.0114, 0.599).Format(InteropContract.UnifiedTesting);

        Assert.Equal("latency:\n  handshake_plus_one_rtt: 5.011\n  ping_rtt: 0.599\n  unit: ms", text);
    }

    [Theory]
    [InlineData("""{"handshakePlusOneRTTMillis":1.5,"pingRTTMillis":0.5}""")]
    [InlineData("""{"handshakePlusOneRTTMillis":"1.5","pingRTTMilllis":0.5}""")]
    [InlineData("dialing /ip4/127.0.0.1/tcp/1\n{not json")]
    [InlineData("")]
    public void A_transport_interop_report_misspelt_or_missing_is_no_report(string output) =>
        Assert.Null(PingMeasurement.Parse(InteropContract.TransportInterop, output));

    [Theory]
    [InlineData("latency:\n  handshake_plus_one_rtt: 5\n  ping_rtt: 1\n  unit: s")]
    [InlineData("latency:\n  handshake_plus_one_rtt: 5\n  unit: ms")]
    [InlineData("handshake_plus_one_rtt: 5\nping_rtt: 1\nunit: ms")]
    public void A_unified_testing_report_in_another_unit_or_incomplete_is_no_report(string output) =>
        Assert.Null(PingMeasurement.Parse(InteropContract.UnifiedTesting, output));

    [FsCheck.Xunit.Property]
    public Property Reports_read_back_from_among_diagnostics() =>
        Prop.ForAll(
            Gen.Choose(0, 10_000_000).Select(n => n / 1000.0).Two().ToArbitrary(),
            Gen.Elements(InteropContract.TransportInterop, InteropContract.UnifiedTesting).ToArbitrary(),
            (times, contract) =>
            {
                var measurement = new PingMeasurement(times.Item1, times.Item2);
                var output = $"some log line\n{measurement.Format(contract)}\n";
                return PingMeasurement.Parse(contract, output) == measurement;
            });
}
