// swift-tools-version:6.1
// Micro-benchmarks of StoreIngest's hot paths (ordo-one/benchmark). Run from this directory:
//   swift package benchmark
// Its own package so the main package's graph never depends on the benchmark tooling.
import PackageDescription

let package = Package(
    name: "StoreIngestBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "StoreIngest", path: "../.."),
        // The default RuntimeInterposer trait needs ordo-one/swift-runtime-interposer; MallocInterposer
        // is what gives the malloc counts (no jemalloc on Swift 6.3).
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "IngestBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StoreIngest", package: "StoreIngest"),
                .product(name: "IngestTestSupport", package: "StoreIngest"),
            ],
            path: "IngestBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
