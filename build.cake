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

// The interop harness's full matrix (every transport x security x muxer, ours and js-libp2p in
// both roles, through a redis-server it starts), written into docs/interop.md.
Task("InteropMatrix")
    .Does(() => DotNetRun("./src/Host/Libp2p.Interop/Libp2p.Interop.csproj", new DotNetRunSettings
    {
        Configuration = configuration,
        ArgumentCustomization = args => args.Append("--").Append("matrix").Append("--out").AppendQuoted(MakeAbsolute(File("./docs/interop.md")).FullPath),
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

// Fuzzing with AFL++ (Debian: apt-get install afl++) over SharpFuzz-instrumented Libp2p.Protocols.dll; see docs/fuzzing.md.
// --fuzz-target=NAME[,NAME…] (default all), --fuzz-seconds=N per target (default 60), --fuzz-keep=N (default 30).
// The finds, minimized with afl-cmin (N at most, replacing the earlier ones), and every crash or
// hang go to tests/Libp2p.Fuzz/corpus/<target>/, which the corpus replay tests run; the task fails
// when a target crashed or hung.
Task("Fuzz")
    .Does(() =>
    {
        var fuzzTarget = Argument("fuzz-target", "all");
        var seconds = Argument("fuzz-seconds", 60);
        var keep = Argument("fuzz-keep", 30);
        var root = MakeAbsolute(Directory("./artifacts/fuzz"));
        var bin = root.Combine("bin");
        var corpus = MakeAbsolute(Directory("./tests/Libp2p.Fuzz/corpus"));
        // Fresh each run: sharpfuzz refuses a DLL it already instrumented.
        if (DirectoryExists(bin))
            DeleteDirectory(bin, new DeleteDirectorySettings { Recursive = true, Force = true });
        DotNetBuild("./tests/Libp2p.Fuzz/Libp2p.Fuzz.csproj", new DotNetBuildSettings { Configuration = "Release", OutputDirectory = bin });
        Run("dotnet", $"sharpfuzz {bin.CombineWithFilePath("Libp2p.Protocols.dll")}");
        var driver = bin.CombineWithFilePath("Libp2p.Fuzz.dll").FullPath;
        var targets = fuzzTarget == "all"
            ? Capture("dotnet", $"{driver} list").Select(line => line.Split(' ')[0]).ToList()
            : fuzzTarget.Split(',').ToList();
        var failed = new List<string>();
        foreach (var name in targets)
        {
            var output = root.Combine("out").Combine(name);
            var minimized = root.Combine("cmin").Combine(name);
            foreach (var folder in new[] { output, minimized })
                if (DirectoryExists(folder))
                    DeleteDirectory(folder, new DeleteDirectorySettings { Recursive = true, Force = true });
            EnsureDirectoryExists(root.Combine("out"));
            EnsureDirectoryExists(root.Combine("cmin"));
            var harness = $"-t 5000 -m none -- /usr/bin/dotnet {driver} run {name}";
            Information($"fuzzing {name} for {seconds} s");
            Run("afl-fuzz", $"-i {corpus.Combine(name)} -o {output} -V {seconds} {harness}", quiet: true);
            var found = output.Combine("default");
            Run("afl-cmin", $"-i {found.Combine("queue")} -o {minimized} {harness}", quiet: true);
            Run("dotnet", $"{driver} collect {name} {minimized} {corpus} {keep}");
            foreach (var bad in new[] { "crashes", "hangs" })
            {
                var folder = found.Combine(bad);
                // AFL names its finds id:NNNNNN,…; Cake's globber does not take the colon.
                if (System.IO.Directory.Exists(folder.FullPath) && System.IO.Directory.GetFiles(folder.FullPath, "id:*").Length > 0)
                {
                    failed.Add($"{name} ({bad})");
                    Run("dotnet", $"{driver} collect {name} {folder} {corpus} {keep}");
                }
            }
        }
        if (failed.Count > 0)
            throw new CakeException($"fuzzing found crashes or hangs in {string.Join(", ", failed)}: see tests/Libp2p.Fuzz/corpus/<target>/crash-* and hang-*");
    });

void Run(string tool, string arguments, bool quiet = false)
{
    var settings = new ProcessSettings
    {
        Arguments = arguments,
        RedirectStandardOutput = quiet,
        EnvironmentVariables = new Dictionary<string, string>
        {
            // A container runs afl-fuzz without a tuned kernel; the harness is a dotnet process, not an AFL-compiled binary.
            ["AFL_SKIP_BIN_CHECK"] = "1",
            ["AFL_NO_AFFINITY"] = "1",
            ["AFL_SKIP_CPUFREQ"] = "1",
            ["AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES"] = "1",
            ["AFL_NO_UI"] = "1",
        },
    };
    var exit = StartProcess(tool, settings);
    if (exit != 0)
        throw new CakeException($"{tool} {arguments} exited with {exit}");
}

IEnumerable<string> Capture(string tool, string arguments)
{
    StartProcess(tool, new ProcessSettings { Arguments = arguments, RedirectStandardOutput = true }, out var lines);
    return lines;
}

Task("Default").IsDependentOn("Test");

RunTarget(target);
