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

/// The live-ingestion server (`IngestServer`, `ingest serve`): only with the `LiveServer` trait, so
/// the core builds (and their CI stages) never compile gRPC, SwiftNIO and BoringSSL.
let liveSettings: [SwiftSetting] = syncSettings + [.define("LIVE_SERVER", .when(traits: ["LiveServer"]))]

/// A dependency of the live server's targets, present only with the `LiveServer` trait.
func live(_ product: String, _ package: String) -> Target.Dependency {
    .product(name: product, package: package, condition: .when(traits: ["LiveServer"]))
}

let package = Package(
    name: "StoreIngest",
    products: [
        // The umbrella module first (`import StoreIngest`); its modules stay importable one by one.
        .library(
            name: "StoreIngest",
            targets: [
                "StoreIngest", "Ingestion", "Store", "Chunks", "ArrowIPC", "RRD", "IngestCore", "Dataframe", "Parquet",
            ]),
        .library(name: "IngestTestSupport", targets: ["IngestTestSupport"]),
        // The gRPC endpoint the Rerun SDK streams to (empty without the `LiveServer` trait).
        .library(name: "IngestServer", targets: ["IngestServer"]),
        .executable(name: "ingest", targets: ["ingest"]),
    ],
    traits: [
        .trait(
            name: "SynchronousIngestion",
            description: "No worker threads: every submit decodes inline (the analogue of the reference's WASM mode)."
        ),
        .trait(
            name: "LiveServer",
            description:
                "The gRPC server the Rerun SDK connects to (IngestServer, `ingest serve`): builds grpc-swift, SwiftNIO and BoringSSL."
        ),
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
        // The live server only (trait LiveServer): resolved always, built only with the trait.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
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

        // Parquet files of our own (Thrift compact metadata, pages, levels, dictionaries, zstd): the
        // format layer of dataframe export. No threads, no Foundation.
        .target(name: "Parquet", dependencies: ["IngestCore", "CZstd"], swiftSettings: swiftSettings),

        // The dataframe view of a store (the SDK's `ChunkStore.reader` semantics) and its export: Arrow
        // arrays shredded into Parquet columns, Arrow IPC files. No threads, no Foundation.
        .target(
            name: "Dataframe", dependencies: ["IngestCore", "ArrowIPC", "Chunks", "Store", "Parquet"],
            swiftSettings: swiftSettings),

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
            name: "StoreIngest",
            dependencies: ["IngestCore", "RRD", "ArrowIPC", "Chunks", "Store", "Ingestion", "Parquet", "Dataframe"],
            swiftSettings: swiftSettings),

        .target(
            name: "IngestTestSupport", dependencies: ["IngestCore", "ArrowIPC", "Ingestion", "RRD", "Chunks", "Store", "CLZ4"], swiftSettings: syncSettings),

        // The gRPC server of live ingestion (`MessageProxyService`): generated messages and stubs under
        // Generated/ (from Proto/, scripts/generate-protos.sh server), each call a source of the pipeline.
        // Without the LiveServer trait its sources compile to nothing.
        .target(
            name: "IngestServer",
            dependencies: [
                "IngestCore", "RRD", "Store", "Ingestion",
                live("GRPCCore", "grpc-swift-2"),
                live("GRPCNIOTransportHTTP2Posix", "grpc-swift-nio-transport"),
                live("GRPCProtobuf", "grpc-swift-protobuf"),
                live("SwiftProtobuf", "swift-protobuf"),
            ],
            exclude: ["Proto"],
            swiftSettings: liveSettings
        ),

        // The command-line tool.
        .executableTarget(
            name: "ingest",
            dependencies: [
                "IngestCore", "RRD", "ArrowIPC", "Chunks", "Store", "Ingestion", "IngestServer", "Dataframe",
                "Parquet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: liveSettings
        ),

        // Test support (locates Fixtures/ from #filePath, reads EXPECTED.json).
        // zstd to make compressed copies of the fixtures.
        .target(name: "FixtureSupport", dependencies: ["CZstd"], path: "Tests/FixtureSupport", swiftSettings: swiftSettings),

        .testTarget(name: "IngestCoreTests", dependencies: ["IngestCore"], swiftSettings: swiftSettings),
        .testTarget(name: "ParquetTests", dependencies: ["Parquet"], swiftSettings: swiftSettings),
        // The dataframe view against the SDK's reader, the Parquet/Arrow export read by pyarrow, DuckDB, Spark.
        .testTarget(
            name: "DataframeTests",
            dependencies: [
                "IngestCore", "ArrowIPC", "Chunks", "Store", "Parquet", "Dataframe", "Ingestion", "IngestTestSupport",
                "FixtureSupport",
            ],
            exclude: [
                "arrow_cells.py", "sdk_dataframe.py", "read_parquet.py", "duckdb_read.py", "spark_read.py",
                "polars_read.py",
            ],
            swiftSettings: syncSettings),
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
        // The live server: its own gRPC client, and the real SDK (a venv) driving `ingest serve` and the library.
        .testTarget(
            name: "IngestServerTests",
            dependencies: [
                "IngestCore", "Ingestion", "IngestServer", "RRD", "ArrowIPC", "Chunks", "Store", "StoreIngest",
                "IngestTestSupport", "FixtureSupport",
                live("GRPCCore", "grpc-swift-2"),
                live("GRPCNIOTransportHTTP2Posix", "grpc-swift-nio-transport"),
                live("GRPCProtobuf", "grpc-swift-protobuf"),
                live("SwiftProtobuf", "swift-protobuf"),
            ],
            exclude: ["SDK"],  // the Python client of the real SDK the live tests run
            swiftSettings: liveSettings
        ),
        .testTarget(
            name: "IngestCLITests", dependencies: ["ingest", "IngestCore", "Ingestion", "RRD", "CZstd", "FixtureSupport"],
            swiftSettings: syncSettings),
    ]
)
