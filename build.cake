// The build's entry points: `dotnet tool restore`, then `dotnet cake --target=<Task>`.
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var solution = "./Libp2p.slnx";
var artifacts = Directory("./artifacts");

Task("Clean")
    .Does(() => CleanDirectory(artifacts));

Task("Build")
    .Does(() => DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration }));

Task("Test")
    .IsDependentOn("Build")
    .Does(() => DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Loggers = { "trx" },
        ResultsDirectory = artifacts + Directory("test-results"),
    }));

// Interop with js-libp2p: the tests install the pinned npm packages themselves.
Task("Interop")
    .IsDependentOn("Build")
    .Does(() => DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = "Category=Interop",
    }));

// Micro-benchmarks (BenchmarkDotNet), then the end-to-end scenarios beside their baselines.
// Pass --bench-filter='*Multiaddr*' to narrow the micro-benchmarks, --scenario-args='--mib 64 --no-js' for the scenarios.
Task("Bench")
    .Does(() =>
    {
        DotNetRun("./tests/Libp2p.Benchmarks/Libp2p.Benchmarks.csproj", new DotNetRunSettings
        {
            Configuration = "Release",
            ArgumentCustomization = args => args
                .Append("--")
                .Append("--filter").AppendQuoted(Argument("bench-filter", "*"))
                .Append("--artifacts").AppendQuoted(MakeAbsolute(artifacts + Directory("bench")).FullPath),
        });
        DotNetRun("./tests/Libp2p.Scenarios/Libp2p.Scenarios.csproj", new DotNetRunSettings
        {
            Configuration = "Release",
            ArgumentCustomization = args => args.Append("--").Append(Argument("scenario-args", "")),
        });
    });

Task("Pack")
    .IsDependentOn("Build")
    .Does(() => DotNetPack(solution, new DotNetPackSettings
    {
        Configuration = configuration,
        NoBuild = true,
        OutputDirectory = artifacts + Directory("packages"),
    }));

Task("Default").IsDependentOn("Test");

RunTarget(target);
