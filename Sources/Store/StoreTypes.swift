import IngestCore

/// An error inserting a chunk that breaks the store's conventions (see ``StorableChunk``).
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as an opaque code compared with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case rowsNotSorted }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }
        /// The chunk's RowIds are not in ascending order.
        public static let rowsNotSorted = Code(.rowsNotSorted)
        /// The constant's name (`rowsNotSorted`).
        public var description: String {
            switch wrapped {
            case .rowsNotSorted: "rowsNotSorted"
            }
        }
    }

    /// The kind of error.
    public var code: Code
    /// A readable explanation naming the chunk and the offending row.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `CODE: MESSAGE`.
    public var description: String { "\(code): \(message)" }
}

/// What ``ChunkStore/insert(_:)`` did with one chunk.
public enum InsertOutcome: Hashable, Sendable {
    /// The chunk's rows are now in the store (as the chunk itself, or merged into a compacted chunk).
    case inserted
    /// A chunk with that id is already in the store, or was absorbed by a compacted chunk the store
    /// still holds: nothing changed.
    case duplicate
    /// The chunk had no rows or no component columns: dropped, as the reference store does.
    case droppedEmpty
}

/// What ``ChunkStore/insertReporting(_:)`` did with one chunk, and whether the store had known its id.
///
/// The store remembers every chunk id it was offered (held now or not: a chunk removed, collected,
/// absorbed by compaction or dropped as empty stays known), so an engine can count distinct chunks
/// and tell when a store first gets data without a set of ids of its own. Dedupe is unchanged: it is
/// against what the store holds now (``InsertOutcome/duplicate``), so a collected chunk offered again
/// is inserted again, with ``isNewChunkId`` false.
public struct InsertReport: Hashable, Sendable {
    /// What happened to the chunk.
    public var outcome: InsertOutcome
    /// Whether the store had never been offered a chunk with this id (nor made one: compacted
    /// chunks' ids, time half all ones, are the store's own). True at most once per id.
    public var isNewChunkId: Bool
    /// Whether this is the first chunk with rows and a new id the store was offered (also when it is
    /// then dropped for having no component columns): the moment a store stops being empty, Rerun's
    /// `was_empty`. True at most once per store.
    public var isFirstChunkWithRows: Bool

    /// Creates a report.
    public init(outcome: InsertOutcome, isNewChunkId: Bool, isFirstChunkWithRows: Bool) {
        self.outcome = outcome
        self.isNewChunkId = isNewChunkId
        self.isFirstChunkWithRows = isFirstChunkWithRows
    }
}

/// Counts of one ``ChunkStore/insert(contentsOf:)`` batch.
public struct InsertSummary: Hashable, Sendable {
    /// Chunks added to the store.
    public var inserted = 0
    /// Chunks skipped because their id was already present.
    public var duplicates = 0
    /// Chunks dropped for having no rows or no component columns.
    public var droppedEmpty = 0
    /// Chunks whose id the store had never been offered (``InsertReport/isNewChunkId``).
    public var newChunkIds = 0
    /// Creates an empty summary.
    public init() {}
}

/// One cell the store answers with: where it lives and how it is indexed. Render the value from
/// ``chunk`` (row ``row``, component column ``component``).
public struct CellHit<C: StorableChunk>: Sendable {
    /// The chunk holding the cell (kept alive by this value even if the store drops it later).
    public let chunk: C
    /// The row inside ``chunk``.
    public var row: Int
    /// The component column index inside ``chunk``.
    public var component: Int
    /// The row's RowId.
    public var rowId: RowId
    /// The row's time on the queried timeline, or nil for a static cell.
    public var time: Int64?
}

/// The extent of one timeline over the whole store.
public struct TimelineSummary: Hashable, Sendable {
    /// The timeline name.
    public var name: String
    /// The smallest time of any row.
    public var minTime: Int64
    /// The largest time of any row.
    public var maxTime: Int64
    /// The number of rows (over all temporal chunks that carry this timeline).
    public var rowCount: Int

    /// Creates a summary.
    public init(name: String, minTime: Int64, maxTime: Int64, rowCount: Int) {
        self.name = name
        self.minTime = minTime
        self.maxTime = maxTime
        self.rowCount = rowCount
    }
}

/// Counters of one store. Cheap to read; a consistent snapshot.
public struct ChunkStoreStatistics: Hashable, Sendable {
    /// Chunks held now.
    public var chunks = 0
    /// Of which static.
    public var staticChunks = 0
    /// Rows held now (static and temporal).
    public var rows = 0
    /// Sum of ``StorableChunk/approximateByteSize`` of the chunks held now.
    public var approximateBytes = 0
    /// Distinct entities with data.
    public var entities = 0
    /// Distinct chunk ids offered to the store (since creation), each counted once however often it
    /// comes back: held now or not (removed, collected, absorbed by compaction, dropped as empty);
    /// not those of chunks rejected for their row order. See ``InsertReport/isNewChunkId``.
    public var distinctChunkIds = 0
    /// Inserts skipped because the chunk id was already present, or absorbed by a compacted chunk
    /// still held (since creation).
    public var duplicatesSkipped = 0
    /// Chunks dropped for having no rows or no component columns (since creation).
    public var droppedEmpty = 0
    /// Chunks removed (since creation).
    public var removed = 0
    /// Store events emitted (since creation); also the id of the last event.
    public var eventsEmitted: UInt64 = 0
    /// Chunks inserted (since creation): each ``InsertOutcome/inserted``, compacted or not.
    public var chunksInserted = 0
    /// Compactions on insert (since creation): each merged a new chunk into a stored one.
    public var compactions = 0
    /// Bytes accounted outside the store (``ChunkStore/reserveExternalBytes(_:)``), counted against the budget.
    public var externalBytes = 0
    /// Bytes of messages waiting in the engine's queue for this store (``ChunkStore/queuedByteCount``),
    /// counted against the budget; read when the snapshot is taken.
    public var queuedBytes = 0
    /// Garbage collections that ran (since creation).
    public var garbageCollections = 0
    /// Chunks the garbage collector dropped (since creation).
    public var chunksCollected = 0
    /// Rows of those chunks (the sum of ``GarbageCollectionRecord/rowsDropped``).
    public var rowsCollected = 0
    /// Approximate bytes of those chunks (the sum of ``GarbageCollectionRecord/bytesDropped``).
    public var bytesCollected = 0
}

/// One node of the entity tree: a path component, whether data is logged exactly there, and children
/// sorted by name.
public struct EntityTreeNode: Hashable, Sendable {
    /// The last path part (escapes kept), empty for the root.
    public var name: String
    /// The full path (`/` for the root).
    public var path: String
    /// Whether any chunk is logged at exactly this path.
    public var hasData: Bool
    /// Child nodes, sorted by name.
    public var children: [EntityTreeNode]
}

/// Why a chunk left the store.
public enum DeletionReason: Hashable, Sendable {
    /// ``ChunkStore/remove(chunkId:)`` was called.
    case removed
    /// Compaction merged the chunk into the chunk with this id (added in the same mutation).
    case compacted(into: ChunkId)
    /// The garbage collector dropped it to stay within the memory budget.
    case garbageCollected
}

/// A change to a store, delivered to subscribers in ``id`` order.
public struct StoreEvent<C: StorableChunk>: Sendable {
    /// The change.
    public enum Kind: Sendable {
        /// A chunk was added.
        case addition(C)
        /// A chunk was removed.
        case deletion(C, DeletionReason)
    }

    /// Increasing per store, starting at 1, without gaps.
    public var id: UInt64
    /// The change.
    public var kind: Kind

    /// The chunk added or removed.
    public var chunk: C {
        switch kind {
        case .addition(let c): c
        case .deletion(let c, _): c
        }
    }
}

/// A handle returned by ``ChunkStore/subscribe(_:)``; pass it to ``ChunkStore/unsubscribe(_:)``.
public struct StoreSubscription: Hashable, Sendable {
    let id: Int
}
