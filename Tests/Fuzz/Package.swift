// swift-tools-version:6.1
// libFuzzer harnesses for StoreIngest's decoders. Not part of the main build: `scripts/fuzz.sh` builds them with
//   swift build --package-path Tests/Fuzz --scratch-path .build-fuzz \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// Each target exports `LLVMFuzzerTestOneInput` (`@_cdecl`); libFuzzer supplies `main`.
import PackageDescription

let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The synchronous build: `submit` decodes inline, so one fuzz input runs on one thread.
let storeIngest: Target.Dependency = .product(name: "StoreIngest", package: "StoreIngest")
let deps: [Target.Dependency] = [storeIngest, "FuzzSupport"]

let package = Package(
    name: "StoreIngestFuzz",
    dependencies: [
        .package(name: "StoreIngest", path: "../..", traits: ["SynchronousIngestion"])
    ],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: settings),
        .executableTarget(name: "FuzzStream", dependencies: deps, swiftSettings: settings),
        .executableTarget(name: "FuzzCompression", dependencies: deps, swiftSettings: settings),
        .executableTarget(name: "FuzzArrowIPC", dependencies: deps, swiftSettings: settings),
        .executableTarget(name: "FuzzIngest", dependencies: deps, swiftSettings: settings),
    ]
)
