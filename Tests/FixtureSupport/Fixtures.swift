import Foundation

/// Locates the repository's `Fixtures/` folder from this file's path (a top-level folder cannot be
/// a SwiftPM resource) and reads the ground truth that ships with it.
public enum Fixtures {
    /// `<repo>/Fixtures`.
    public static let root: URL = {
        URL(fileURLWithPath: #filePath)  // <repo>/Tests/FixtureSupport/Fixtures.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
    }()

    /// `<repo>/Fixtures/rrd`.
    public static var rrd: URL { root.appendingPathComponent("rrd") }
    /// `<repo>/Fixtures/arrow`.
    public static var arrow: URL { root.appendingPathComponent("arrow") }

    /// The path of one RRD fixture.
    public static func rrdPath(_ name: String) -> String { rrd.appendingPathComponent(name).path }

    /// Reads a fixture file's bytes.
    public static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

    /// `EXPECTED.json`, parsed with JSONSerialization. `nonisolated(unsafe)`: written once by the
    /// lazy initializer (which Swift runs exactly once) and only read afterwards.
    nonisolated(unsafe) public static let expected: [String: Any] = {
        let data = try! Data(contentsOf: rrd.appendingPathComponent("EXPECTED.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    /// The `files` entries of `EXPECTED.json`.
    public static var expectedFiles: [[String: Any]] { expected["files"] as! [[String: Any]] }

    /// Names of every RRD fixture listed in `EXPECTED.json`.
    public static var rrdNames: [String] { expectedFiles.map { $0["file"] as! String } }

    /// The `EXPECTED.json` entry for one fixture.
    public static func expectation(_ name: String) -> [String: Any] {
        expectedFiles.first { ($0["file"] as! String) == name }!
    }
}
