import Chunks
import IngestCore

/// The chunk stores of a hub, by store id, each created on first use; safe from any thread. Meant as the
/// target of the engine's insert hook, so that workers insert on their own threads while the app queries:
///
/// ```swift
/// let registry = ChunkStoreRegistry()
/// let config = IngestConfiguration(insertChunk: { id, chunk in _ = try? registry.insert(chunk, into: id) })
/// // later, on any thread:
/// registry.store(id)?.latestAt(entity: "/points", component: "Points3D:positions", timeline: "frame", at: 7)
/// ```
///
/// Each lookup takes one mutex and hashes the id; a worker that serves one store can keep the
/// ``ChunkStore`` from ``storeCreatingIfNeeded(_:)`` and skip the registry.
public final class ChunkStoreRegistry: Sendable {
    /// The stores by id, and their ids in creation order.
    private struct Stores {
        var byId: [StoreId: ChunkStore<Chunk>] = [:]
        var order: [StoreId] = []
    }

    private let stores = Locked(Stores())

    /// The configuration of every store created here.
    public let configuration: ChunkStoreConfiguration

    /// Creates an empty collection whose stores use `configuration` (default: no compaction, no budget).
    public init(configuration: ChunkStoreConfiguration = .default) {
        self.configuration = configuration
    }

    /// The store of `id`, created empty if it does not exist yet.
    public func storeCreatingIfNeeded(_ id: StoreId) -> ChunkStore<Chunk> {
        stores.withLock { stores in
            if let store = stores.byId[id] { return store }
            let store = ChunkStore<Chunk>(configuration: configuration)
            stores.byId[id] = store
            stores.order.append(id)
            return store
        }
    }

    /// The store of `id`, or nil if nothing was inserted for it.
    public func store(_ id: StoreId) -> ChunkStore<Chunk>? {
        stores.withLock { $0.byId[id] }
    }

    /// Every store id, in the order their stores were created.
    public var storeIds: [StoreId] {
        stores.withLock { $0.order }
    }

    /// Inserts `chunk` into the store of `id` (created if needed); see ``ChunkStore/insert(_:)``.
    /// - Throws: ``StoreError/Code/rowsNotSorted`` when the chunk's RowIds are not ascending.
    @discardableResult
    public func insert(_ chunk: Chunk, into id: StoreId) throws(StoreError) -> InsertOutcome {
        try storeCreatingIfNeeded(id).insert(chunk)
    }
}
