// swift-tools-version:6.1
// StoreIngest: ingest Rerun recordings (.rrd/.rbl) into per-store in-memory databases.
import PackageDescription

/// Settings shared by every Swift target (Swift 6 language mode is the default for tools 6.x).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The synchronous build: no threads, `submit` decodes inline. SwiftPM unites traits across a
/// dependency graph, so one dependent enabling it makes every client of StoreIngest synchronous.
let syncSettings: [SwiftSetting] = swiftSettings + [
    .define("SYNCHRONOUS_INGESTION", .when(traits: ["SynchronousIngestion"]))
]

let package = Package(
    name: "StoreIngest",
    products: [
        // The umbrella module first (`import StoreIngest`); its modules stay importable one by one.
        .library(
            name: "StoreIngest", targets: ["StoreIngest", "Ingestion", "Store", "Chunks", "ArrowIPC", "RRD", "IngestCore"]),
        .library(name: "IngestTestSupport", targets: ["IngestTestSupport"]),
        .executable(name: "ingest", targets: ["ingest"]),
    ],
    traits: [
        .trait(
            name: "SynchronousIngestion",
            description: "No worker threads: every submit decodes inline (the analogue of the reference's WASM mode)."
        )
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", exact: "0.2.0"),
        // `swift package generate-documentation` (DocC) and argument-parser's `generate-manual`.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // C system libraries.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),

        // The bottom layer every other uses: byte storage and slices, the slab arena, ids (TUID, chunk
        // and row ids, store ids), the hash mixer and the open-addressing table, locks that own their
        // state, the monotonic clock, the JSON writer. No threads, no Foundation.
        .target(name: "IngestCore", swiftSettings: swiftSettings),

        // Byte-level decoding: no threads, no Foundation.
        .target(name: "RRD", dependencies: ["IngestCore", "CLZ4", "CZstd"], swiftSettings: swiftSettings),
        .target(name: "ArrowIPC", dependencies: ["IngestCore", "CLZ4", "CZstd"], swiftSettings: swiftSettings),

        // Chunk model built from a record batch (from an uncompressed Arrow IPC payload: no RRD).
        .target(name: "Chunks", dependencies: ["IngestCore", "ArrowIPC"], swiftSettings: swiftSettings),

        // Per-store chunk index and queries.
        .target(
            name: "Store",
            dependencies: ["IngestCore", "Chunks", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: swiftSettings),

        // Threads, queues, workers, hub, replay.
        .target(
            name: "Ingestion",
            dependencies: [
                "IngestCore", "RRD", "ArrowIPC", "Chunks", "Store",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: syncSettings
        ),

        // The umbrella: re-exports the public modules, so one `import StoreIngest` is enough.
        .target(
            name: "StoreIngest", dependencies: ["IngestCore", "RRD", "ArrowIPC", "Chunks", "Store", "Ingestion"],
            swiftSettings: swiftSettings),

        .target(
            name: "IngestTestSupport", dependencies: ["IngestCore", "Ingestion", "RRD", "Chunks", "Store", "CLZ4"], swiftSettings: syncSettings),

        // The command-line tool.
        .executableTarget(
            name: "ingest",
            dependencies: [
                "IngestCore", "RRD", "ArrowIPC", "Chunks", "Store", "Ingestion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: syncSettings
        ),

        // Test support (locates Fixtures/ from #filePath, reads EXPECTED.json).
        // zstd to make compressed copies of the fixtures.
        .target(name: "FixtureSupport", dependencies: ["CZstd"], path: "Tests/FixtureSupport", swiftSettings: swiftSettings),

        .testTarget(name: "IngestCoreTests", dependencies: ["IngestCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RRDTests",
            // Ingestion and ArrowIPC for the payload checks (decompression + IPC framing walk) of the damage tests.
            dependencies: [
                "IngestCore", "RRD", "ArrowIPC", "Ingestion", "CZstd", "FixtureSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Proto"],  // the .proto source of rrd_messages.pb.swift (scripts/generate-protos.sh)
            swiftSettings: swiftSettings
        ),
        .testTarget(
            // RRD only to take real chunk payloads out of the recording fixtures.
            name: "ArrowIPCTests", dependencies: ["ArrowIPC", "IngestCore", "RRD", "FixtureSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ChunksTests", dependencies: ["IngestCore", "Chunks", "RRD", "ArrowIPC", "FixtureSupport"],
            swiftSettings: swiftSettings),
        // Ingestion and IngestTestSupport: the ground-truth loads (`PipelineStores`, through the replay
        // pipeline) and message decoding (`ChunkDecoder.decode(_:arena:)`).
        .testTarget(
            name: "StoreTests",
            dependencies: ["IngestCore", "Store", "Chunks", "RRD", "Ingestion", "IngestTestSupport", "FixtureSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IngestionTests",
            dependencies: [
                "IngestCore", "Ingestion", "IngestTestSupport", "RRD", "ArrowIPC", "Chunks", "Store", "StoreIngest",
                "FixtureSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: syncSettings
        ),
        .testTarget(
            name: "IngestCLITests", dependencies: ["ingest", "IngestCore", "Ingestion", "RRD", "CZstd", "FixtureSupport"],
            swiftSettings: syncSettings),
    ]
)
