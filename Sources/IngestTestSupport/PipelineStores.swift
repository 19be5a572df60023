import Chunks
import IngestCore
import Ingestion
import Store

/// The chunk stores of recordings loaded through the ingestion pipeline (``Ingestion/ReplayPipeline``,
/// as `ingest replay` and `ingest query` load them): the ground-truth loader of the store tests. One
/// hub; loading again adds to the same stores (a file loaded twice only adds duplicates).
///
/// ```swift
/// let stores = PipelineStores(configuration: ChunkStoreConfiguration(compaction: .reference))
/// let load = stores.load(paths: ["points3d.rrd"])
/// let hit = stores.storeHolding(entity: "/points")?.latestAt(
///     entity: "/points", component: "Points3D:positions", timeline: "frame", at: 3)
/// ```
public final class PipelineStores {
    /// What one ``load(paths:)`` did.
    public struct Load: Hashable, Sendable {
        /// Chunks the stores' inserts took, skipped as duplicates and dropped as empty (from the
        /// chunk stores' statistics).
        public var insert = InsertSummary()
        /// Every input's errors (stream damage, I/O, chunks that did not decode), in input order.
        public var errors: [String] = []
    }

    /// The hub the stores belong to.
    public let hub: StoreHub

    /// An empty hub whose stores index with `configuration`.
    public init(configuration: ChunkStoreConfiguration = .default) {
        hub = StoreHub(configuration: IngestConfiguration(chunkStore: configuration))
    }

    deinit { hub.shutdown(drain: false) }

    /// Replays `paths` (`-` is stdin) into the hub, one reader after another, and waits until every
    /// chunk is in its store (merges that wait included).
    public func load(paths: [String]) -> Load {
        let before = Dictionary(uniqueKeysWithValues: stores.map { ($0.id, $0.store.statistics) })
        let pipeline = ReplayPipeline(
            hub: hub, inputs: paths.map { $0 == "-" ? .standardInput : .file($0) },
            options: ReplayOptions(readerThreads: 1))
        let report = pipeline.run()
        var load = Load(errors: report.files.flatMap(\.errors))
        for (id, store) in stores {
            let now = store.statistics
            let then = before[id]
            load.insert.inserted += now.chunksInserted - (then?.chunksInserted ?? 0)
            load.insert.duplicates += now.duplicatesSkipped - (then?.duplicatesSkipped ?? 0)
            load.insert.droppedEmpty += now.droppedEmpty - (then?.droppedEmpty ?? 0)
        }
        return load
    }

    /// Every store, in first-seen order.
    public var stores: [(id: StoreId, store: ChunkStore<Chunk>)] {
        hub.allStores.map { ($0.storeId, $0.chunkStore) }
    }

    /// The store with this id, if seen.
    public func store(_ id: StoreId) -> ChunkStore<Chunk>? { hub.store(id)?.chunkStore }

    /// The first store (in first-seen order) holding data for `entity`: `ingest query`'s choice.
    public func storeHolding(entity: String) -> ChunkStore<Chunk>? { hub.store(holding: entity)?.chunkStore }
}

/// Loads `paths` through the pipeline into new stores indexing with `configuration`.
public func loadStores(
    paths: [String], configuration: ChunkStoreConfiguration = .default
) -> (stores: PipelineStores, load: PipelineStores.Load) {
    let stores = PipelineStores(configuration: configuration)
    let load = stores.load(paths: paths)
    return (stores, load)
}
