import IngestCore

/// Completes the store ids of recordings written by rerun-sdk 0.23 and 0.24, whose `StoreId` has a
/// kind and a recording id but no application id: that is only in the legacy
/// `StoreInfo.application_id` (field 1) of the store's `SetStoreInfo`.
///
/// The one place the rule lives: ``StreamDecoder`` learns from every `SetStoreInfo` it decodes and
/// completes the id of every `ArrowMsg` and `BlueprintActivationCommand` that lacks an application
/// id, so every reader of RRD bytes (and the engine behind them) sees one id per store. A message
/// whose id has an application id, or whose (kind, recording id) no `SetStoreInfo` named before it,
/// keeps its id as it is.
///
/// ```swift
/// var ids = LegacyStoreIds()
/// ids.learn(from: setStoreInfo.info)          // StoreInfo with the application id
/// let full = ids.complete(arrowMsg.storeId)  // same kind and recording id, application id filled in
/// ```
public struct LegacyStoreIds: Sendable {
    /// Application ids by (kind, recording id), from `SetStoreInfo` messages that had one.
    private var applicationIds: [Key: String] = [:]

    private struct Key: Hashable, Sendable {
        var kind: StoreKind
        var recordingId: String
    }

    /// No store known yet.
    public init() {}

    /// Remembers the application id of `info`'s store (ignored when it has none).
    public mutating func learn(from info: StoreInfo) {
        let id = info.storeId
        guard !id.applicationId.isEmpty else { return }
        if applicationIds.count >= Self.maxStores { applicationIds.removeAll(keepingCapacity: true) }
        applicationIds[Key(kind: id.kind, recordingId: id.recordingId)] = id.applicationId
    }

    /// `id` with the application id of the `SetStoreInfo` of the same kind and recording id, or
    /// `nil` when `id` has an application id already or no such `SetStoreInfo` was seen.
    public func complete(_ id: StoreId) -> StoreId? {
        guard id.applicationId.isEmpty,
            let app = applicationIds[Key(kind: id.kind, recordingId: id.recordingId)]
        else { return nil }
        var full = id
        full.applicationId = app
        return full
    }

    /// Bound of the table (inputs hold a handful of stores; a fuzzed one may claim millions).
    static let maxStores = 1 << 12
}
