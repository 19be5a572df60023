import Chunks
import IngestCore
import RRD
import Store

/// The chunk stores of one or more recordings, read and decoded synchronously on the calling thread:
/// one ``ChunkStore`` per store id, in first-seen order (the same id in several inputs is one store, so a
/// file loaded twice only adds duplicates). For `ingest query` and tests; the engine has its own workers.
///
/// ```swift
/// let stores = RecordingStores()
/// let summary = stores.load(path: "points3d.rrd")
/// let hit = stores.storeHolding(entity: "/points")?.latestAt(
///     entity: "/points", component: "Points3D:positions", timeline: "frame", at: 3)
/// ```
public final class RecordingStores {
    /// What one ``load(path:)`` found.
    public struct LoadSummary: Hashable, Sendable {
        /// Arrow messages read.
        public var chunkMessages = 0
        /// Of which inserted, duplicates and dropped as empty.
        public var insert = InsertSummary()
        /// Problems, each naming the source and byte offset; loading went on after each.
        public var errors: [String] = []
    }

    /// Every store seen, in first-seen order.
    public private(set) var stores: [(id: StoreId, store: ChunkStore<Chunk>)] = []
    private var positions: [StoreId: Int] = [:]
    private let decoder: ChunkDecoder

    /// The configuration of every store created here.
    public let configuration: ChunkStoreConfiguration

    /// Creates an empty collection whose stores use `configuration` (default: no compaction, no
    /// budget); chunks of older SDKs are migrated to today's schema unless `migratesSchemas` is false
    /// (``Chunks/ChunkDecoder/migratesSchemas``).
    public init(configuration: ChunkStoreConfiguration = .default, migratesSchemas: Bool = true) {
        self.configuration = configuration
        decoder = ChunkDecoder(migratesSchemas: migratesSchemas)
    }

    /// The store with this id, if seen.
    public func store(_ id: StoreId) -> ChunkStore<Chunk>? { positions[id].map { stores[$0].store } }

    /// The first store (in first-seen order) holding data for `entity`, or nil.
    public func storeHolding(entity: String) -> ChunkStore<Chunk>? {
        stores.first { !$0.store.components(of: entity).isEmpty }?.store
    }

    /// Reads one input (file, `-` for stdin, zstd-compressed or not) and inserts every chunk into its store
    /// (then makes the merges that wait: ``ChunkStore/compactPending()``).
    /// Damage does not stop the load: each problem is reported in the summary.
    public func load(path: String) -> LoadSummary {
        var summary = LoadSummary()
        var reader: RRDReader
        do {
            reader = try RRDReader(path: path)
        } catch {
            summary.errors.append("\(error)")
            return summary
        }
        while let event = reader.next() {
            switch event {
            case .message(let framed):
                switch framed.message {
                case .setStoreInfo(let info):
                    _ = storeFor(info.info.storeId)
                case .arrowMsg(let msg):
                    summary.chunkMessages += 1
                    // Legacy ids (no application id) were completed by the reader (`LegacyStoreIds`).
                    let id = msg.storeId
                    do {
                        let chunk = try decoder.decode(msg)
                        switch try storeFor(id).insert(chunk) {
                        case .inserted: summary.insert.inserted += 1
                        case .duplicate: summary.insert.duplicates += 1
                        case .droppedEmpty: summary.insert.droppedEmpty += 1
                        }
                    } catch {
                        summary.errors.append("\(path) @\(framed.offset): \(error)")
                    }
                default:
                    break
                }
            case .error(let error):
                summary.errors.append("\(error)")
            default:
                break
            }
        }
        // Batched compaction: the merges still waiting are made once the input is read.
        for (_, store) in stores { store.compactPending() }
        return summary
    }

    private func storeFor(_ id: StoreId) -> ChunkStore<Chunk> {
        if let position = positions[id] { return stores[position].store }
        let store = ChunkStore<Chunk>(configuration: configuration)
        positions[id] = stores.count
        stores.append((id, store))
        return store
    }
}
