/// The kind of a store: a recording (`.rrd`) or a blueprint (`.rbl`).
///
/// Mirrors the protobuf enum `rerun.common.v1alpha1.StoreKind`. Unknown wire values are kept
/// (proto3 enums are open), so a newer writer's kind is carried instead of rejected.
public struct StoreKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let unspecified = StoreKind(rawValue: 0)
    public static let recording = StoreKind(rawValue: 1)
    public static let blueprint = StoreKind(rawValue: 2)

    /// `recording`, `blueprint`, `unspecified`, or `unknown(N)`: the names used in `EXPECTED.json`.
    public var description: String {
        switch rawValue {
        case 0: return "unspecified"
        case 1: return "recording"
        case 2: return "blueprint"
        default: return "unknown(\(rawValue))"
        }
    }
}

/// Identifies a store: the triple (kind, application id, recording id). All three are compared.
public struct StoreId: Hashable, Sendable, CustomStringConvertible {
    public var kind: StoreKind
    public var applicationId: String
    public var recordingId: String

    public init(kind: StoreKind, applicationId: String, recordingId: String) {
        self.kind = kind
        self.applicationId = applicationId
        self.recordingId = recordingId
    }

    /// `kind:app:rec`, the form the engine semantics use.
    public var description: String { "\(kind):\(applicationId):\(recordingId)" }
}
