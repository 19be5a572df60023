/// The kind of a store: a recording (`.rrd`) or a blueprint (`.rbl`).
///
/// Mirrors the protobuf enum `rerun.common.v1alpha1.StoreKind`. Unknown wire values are kept
/// (proto3 enums are open), so a newer writer's kind is carried instead of rejected.
public struct StoreKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The protobuf wire value: 0 unspecified, 1 recording, 2 blueprint; any other value is an
    /// unknown kind carried as is.
    public var rawValue: UInt64
    /// The kind with this wire value; never fails, unknown values included.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Wire value 0: a writer that did not say (proto3's default).
    public static let unspecified = StoreKind(rawValue: 0)
    /// Wire value 1: a recording store (what `.rrd` files hold).
    public static let recording = StoreKind(rawValue: 1)
    /// Wire value 2: a blueprint store (what `.rbl` files hold: the viewer's layout).
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
///
/// One reference wide: the triple lives in a shared immutable box with its hash computed once, so
/// copying an id costs one retain, and comparing two copies of one id (the common case: the reader
/// hands every message of a store the same box) is a pointer comparison. Setting a property makes a
/// new box.
public struct StoreId: Hashable, Sendable, CustomStringConvertible {
    @usableFromInline
    final class Box: Sendable {
        @usableFromInline let kind: StoreKind
        @usableFromInline let applicationId: String
        @usableFromInline let recordingId: String
        /// `Hasher` over the three fields (per-process seed): equal triples have equal values.
        @usableFromInline let hash: Int

        init(kind: StoreKind, applicationId: String, recordingId: String) {
            self.kind = kind
            self.applicationId = applicationId
            self.recordingId = recordingId
            var h = Hasher()
            h.combine(kind)
            h.combine(applicationId)
            h.combine(recordingId)
            hash = h.finalize()
        }
    }

    @usableFromInline var box: Box

    /// An id of the given kind, application and recording; computes its hash once, here.
    public init(kind: StoreKind, applicationId: String, recordingId: String) {
        box = Box(kind: kind, applicationId: applicationId, recordingId: recordingId)
    }

    /// Recording or blueprint. Setting it allocates a new box (the old one may be shared).
    public var kind: StoreKind {
        @inlinable get { box.kind }
        set { box = Box(kind: newValue, applicationId: box.applicationId, recordingId: box.recordingId) }
    }

    /// The application id the SDK was given (`rr.init("my_app")`); setting it allocates a new box.
    public var applicationId: String {
        @inlinable get { box.applicationId }
        set { box = Box(kind: box.kind, applicationId: newValue, recordingId: box.recordingId) }
    }

    /// The recording id (a UUID unless the SDK was given one); setting it allocates a new box.
    public var recordingId: String {
        @inlinable get { box.recordingId }
        set { box = Box(kind: box.kind, applicationId: box.applicationId, recordingId: newValue) }
    }

    /// Whether both are the same box (then they are equal; equal ids may still be different boxes).
    @inlinable
    public func isIdentical(to other: StoreId) -> Bool { box === other.box }

    /// Whether all three fields are equal: one pointer comparison when both share a box, else the
    /// cached hashes first, then the fields.
    @inlinable
    public static func == (lhs: StoreId, rhs: StoreId) -> Bool {
        if lhs.box === rhs.box { return true }
        return lhs.box.hash == rhs.box.hash && lhs.box.kind == rhs.box.kind
            && lhs.box.recordingId == rhs.box.recordingId && lhs.box.applicationId == rhs.box.applicationId
    }

    /// Feeds the hash computed at construction to `hasher`: O(1), whatever the strings' lengths.
    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(box.hash) }

    /// `kind:app:rec`, the form the engine semantics use.
    public var description: String { "\(kind):\(applicationId):\(recordingId)" }
}
