import IngestCore

/// How a ``ChunkStore`` compacts small chunks on insert and how much memory it may hold
/// (`engine-semantics.md` §3.2–§3.3). The default is today's behaviour: no compaction, no budget.
///
/// ```swift
/// let store = ChunkStore<Chunk>(configuration: ChunkStoreConfiguration(
///     compaction: .reference, memoryBudget: 512 << 20))
/// ```
public struct ChunkStoreConfiguration: Hashable, Sendable {
    /// Size limits of a compacted chunk.
    public struct Compaction: Hashable, Sendable {
        /// A merge is made only if the merged chunk's ``StorableChunk/approximateByteSize`` stays at or
        /// below this (Rerun's `RERUN_CHUNK_MAX_BYTES`, 384 KiB).
        public var maxBytes: Int
        /// Row limit when the merged chunk is sorted by time on every timeline (`RERUN_CHUNK_MAX_ROWS`, 4096).
        public var maxRows: Int
        /// Row limit when it may not be (`RERUN_CHUNK_MAX_ROWS_IF_UNSORTED`, 1024).
        public var maxRowsIfUnsorted: Int
        /// How many inserted chunks may wait to be merged into one neighbour (1 or less: every merge is
        /// made on insert, copying the merged rows each time, so building one chunk of n small ones copies
        /// O(n²) rows). Above 1, a chunk that qualifies for a merge is indexed as it is (its addition
        /// event is emitted) and joins its neighbour's waiting group; the group is merged in one copy
        /// (events: each source's deletion ``DeletionReason/compacted(into:)``, then the merged chunk's
        /// addition) once it holds `mergeBatch` chunks, once a further chunk would break a limit, or on
        /// ``ChunkStore/compactPending()``, which the engine's workers call when their input runs dry.
        /// Answers never depend on it: waiting chunks are queried like any other.
        public var mergeBatch: Int

        /// Creates limits (defaults: the reference's 384 KiB, 4096 rows, 1024 rows unsorted; every
        /// merge on insert).
        public init(
            maxBytes: Int = 384 * 1024, maxRows: Int = 4096, maxRowsIfUnsorted: Int = 1024, mergeBatch: Int = 1
        ) {
            self.maxBytes = maxBytes
            self.maxRows = maxRows
            self.maxRowsIfUnsorted = maxRowsIfUnsorted
            self.mergeBatch = mergeBatch
        }

        /// The reference viewer's limits, every merge made on insert.
        public static let reference = Compaction()
        /// The reference viewer's limits, up to 32 inserted chunks merged into a neighbour in one copy
        /// (what `ingest --compact` uses).
        public static let batched = Compaction(mergeBatch: 32)

        /// Whether compaction within these limits can never touch `chunk`: it is over the row or the
        /// byte limit by itself, so every merge with it, as the chunk inserted or as the neighbour,
        /// would be over too. Such a chunk stays in the store as it was inserted (until it is removed
        /// or collected); `ingest optimize` writes it out as soon as it arrives instead of holding it.
        public func neverMerges<C: StorableChunk>(_ chunk: C) -> Bool {
            chunk.numRows > maxRows || chunk.approximateByteSize > maxBytes
        }
    }

    /// Compaction on insert, or nil for none (the default).
    public var compaction: Compaction?
    /// The byte budget: after each mutation, while the chunks' ``StorableChunk/approximateByteSize``
    /// plus the external bytes (``ChunkStore/reserveExternalBytes(_:)``) plus the bytes waiting in the
    /// engine's queue (``ChunkStore/queuedByteCount``) exceed it, whole temporal chunks are dropped,
    /// smallest first RowId first. Nil (the default) for no budget.
    public var memoryBudget: Int?

    /// Creates a configuration; the defaults keep every chunk as inserted.
    public init(compaction: Compaction? = nil, memoryBudget: Int? = nil) {
        self.compaction = compaction
        self.memoryBudget = memoryBudget
    }

    /// No compaction, no budget.
    public static let `default` = ChunkStoreConfiguration()
}

/// One garbage collection: when it ran, what triggered it and what it dropped.
public struct GarbageCollectionRecord: Hashable, Sendable {
    /// The id of its first deletion event (events of a collection are consecutive).
    public var firstEventId: UInt64
    /// How many chunks had been inserted into the store (``ChunkStoreStatistics/chunksInserted``) when it ran.
    public var afterInserts: Int
    /// Chunk bytes plus external and queued bytes when it started (above ``budget``, or it would
    /// not have run).
    public var bytesBefore: Int
    /// The same sum when it finished: at most ``budget`` unless static chunks (never dropped), the
    /// external bytes or the queued bytes alone exceed it.
    public var bytesAfter: Int
    /// The budget it enforced.
    public var budget: Int
    /// Chunks dropped (whole temporal chunks, smallest first RowId first).
    public var chunksDropped: Int
    /// Rows of the dropped chunks.
    public var rowsDropped: Int
    /// Approximate byte size of the dropped chunks (what the budget counts for them).
    public var bytesDropped: Int
    /// The smallest first-RowId of the dropped chunks (nil when nothing could be dropped).
    public var oldestDroppedRowId: RowId?
    /// The largest first-RowId of the dropped chunks (nil when nothing could be dropped).
    public var newestDroppedRowId: RowId?
}
