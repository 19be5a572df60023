#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Chunks
import IngestCore
import RRD
import Store

/// A recording opened through its footer manifest (rrd-format.md §11): answers a ``/Store/StoreQuery``
/// by reading only the chunks the manifest says can contribute, instead of the whole file.
///
/// ```swift
/// let index = try RecordingIndex(path: "big.rrd")       // throws Unusable: read the whole file instead
/// let loaded = try index.load(StoreQuery(entity: "/plot/sin", component: "Scalars:scalars",
///                                        mode: .latestAt(timeline: "frame", time: 10)))
/// print(loaded.chunksRead, "of", loaded.chunksTotal, loaded.chunkStore.map(query.jsonLines))
/// ```
///
/// The chunks read are decoded as a store's worker decodes them (``/Chunks/ChunkDecoder`` with LZ4 and
/// the migration setting) and inserted into a fresh ``/Store/ChunkStore``, whose own query code then
/// answers: the answer is the full read's whenever the chunks that could change it were read. Which
/// chunks those are (of the entity, holding the component; `timeline`'s ranges are those of the rows
/// where the component is not null):
/// - every static chunk holding the component (static data wins); when one of them yields a static
///   winner, nothing else is read (latest-at and range are then answered by static data or not at all);
/// - latest-at `T`: the temporal chunks whose range starts at or before `T`, less those that end before
///   the greatest end `B ≤ T` of any of them (a row at `B` exists, so a chunk ending earlier cannot win);
/// - range `[T0, T1]`: the temporal chunks whose range overlaps it.
///
/// Checks, any failure of which is an ``Unusable`` (callers then read the whole file): the file is
/// one stream whose footer's checksum matches and whose manifests decode with every offset inside the
/// file; every chunk read sits behind an `ArrowMsg` header of the manifest's size, decodes, and has the
/// manifest row's chunk id, entity, static flag, row count and (for the component asked about) range;
/// no chunk read was written by an older SDK whose names the migration changes (the manifest holds the
/// old names: the smallest chunk of each store is read up front to find out). A file that mixes SDK
/// versions across the chunks of one store is not detected by that probe.
///
/// Store choice follows `ingest query`: a named store is the first store (in order of appearance)
/// whose id or recording id is the name; otherwise the first store holding rows of the entity. When
/// several manifests qualify, the file's messages are scanned from the start (headers and the
/// payloads of the messages before the first qualifying one) to find the order.
public final class RecordingIndex: Sendable {
    /// Why the manifest cannot answer a question; the whole file must be read instead.
    public struct Unusable: Error, Sendable, Hashable, CustomStringConvertible {
        /// What failed, e.g. `no footer with a matching checksum`.
        public var reason: String
        /// An error with the given reason.
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// What ``load(_:store:configuration:migratesSchemas:)`` read.
    public struct Loaded: Sendable {
        /// The store the question goes to; nil when no store qualifies (the answer is "not found").
        public var storeId: StoreId?
        /// The chunks read of that store, inserted into a chunk store; nil with ``storeId``.
        public var chunkStore: ChunkStore<Chunk>?
        /// Distinct chunks decoded (the probes included).
        public var chunksRead: Int
        /// Chunks in the file, per the manifests.
        public var chunksTotal: Int
        /// Bytes read from the file: the stream footer and End payload, every chunk message read, and
        /// what a scan for the order of stores read.
        public var bytesRead: UInt64
        /// The file's size.
        public var fileSize: UInt64
    }

    /// The path.
    public let path: String
    /// Every store's manifest, in footer order.
    public let manifests: [FooterManifest]
    /// The file's size.
    public let fileSize: UInt64
    /// Where the End message's header starts: every chunk lies before it.
    private let endOffset: UInt64
    /// Stream footer plus End payload.
    private let footerBytes: UInt64
    private let fd: Int32

    /// Opens `path` and reads its footer manifests.
    /// - Throws: ``Unusable`` when the file cannot be opened, is not a regular file, has no footer
    ///   whose checksum matches (none, a concatenation of streams, a compressed file), or its
    ///   manifests do not decode or point outside the file.
    public init(path: String) throws(Unusable) {
        self.path = path
        let footer: TrailingFooter?
        do {
            footer = try TrailingFooter.read(path: path)
        } catch {
            throw Unusable("cannot read the footer: \(error.message)")
        }
        guard let footer else {
            throw Unusable("no footer: not one stream ending with a stream footer whose checksum matches")
        }
        do {
            manifests = try FooterManifest.decode(footer.payload, fileSize: footer.payloadOffset - 16)
        } catch {
            throw Unusable("the footer's manifests do not decode: \(error)")
        }
        fileSize = footer.fileSize
        endOffset = footer.payloadOffset - 16
        footerBytes = UInt64(footer.payload.count + StreamFooterInfo.size + 16)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Unusable("cannot open: \(String(cString: strerror(errno)))") }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Chunks in the file, per the manifests.
    public var chunksTotal: Int { manifests.reduce(0) { $0 + $1.count } }

    /// Loads what `query` needs into a chunk store (see the type's discussion for which chunks and
    /// which checks).
    /// - Parameters:
    ///   - query: the question (entity, component, latest-at, range or static).
    ///   - store: the store to ask (its id's description or its recording id), as `ingest query --store`.
    ///   - configuration: the chunk store's (compaction on insert never changes an answer).
    ///   - migratesSchemas: as ``IngestConfiguration/migratesSchemas``.
    /// - Throws: ``Unusable`` when a check fails or the store's order of appearance cannot be found.
    public func load(
        _ query: StoreQuery, store: String? = nil, configuration: ChunkStoreConfiguration = .default,
        migratesSchemas: Bool = true
    ) throws(Unusable) -> Loaded {
        var reading = Reading(index: self, decoder: ChunkDecoder(migratesSchemas: migratesSchemas))
        if migratesSchemas {
            // The manifest names chunks as their bytes do; a store of an older SDK's chunks is
            // queried under the migrated names, which the manifest cannot be matched against. Any
            // chunk tells the version: the smallest is the cheapest to read.
            for (k, m) in manifests.enumerated() where m.count > 0 {
                let smallest = (0..<m.count).min { m.location(row: $0).size < m.location(row: $1).size }!
                if try reading.chunk(manifest: k, row: smallest).isMigrated {
                    throw Unusable("store \(m.storeId) holds chunks of an older SDK (migrated on read)")
                }
            }
        }
        var loaded = Loaded(
            storeId: nil, chunkStore: nil, chunksRead: 0, chunksTotal: chunksTotal, bytesRead: 0, fileSize: fileSize)
        let chosen: Int?
        if let store {
            let named = { (id: StoreId) in id.description == store || id.recordingId == store }
            let matching = manifests.indices.filter { named(manifests[$0].storeId) }
            if matching.isEmpty {
                throw Unusable("no manifest of store \(store): the full read tells whether it exists")
            }
            if matching.count == 1 && manifests[matching[0]].storeId.description == store {
                chosen = matching[0]
            } else {
                // A recording id may name several stores, some without chunks (and so without manifest).
                let first = try reading.firstStore(where: named)
                guard let k = manifests.firstIndex(where: { $0.storeId == first }) else {
                    throw Unusable("store \(store) appears first without chunks")
                }
                chosen = k
            }
        } else {
            let holding = manifests.indices.filter { k in
                let m = manifests[k]
                return (0..<m.count).contains { m.numRows(row: $0) > 0 && m.entityPath(row: $0) == query.entity }
            }
            if holding.count <= 1 {
                chosen = holding.first
            } else {
                let ids = Set(holding.map { manifests[$0].storeId })
                let first = try reading.firstStore { ids.contains($0) }
                chosen = manifests.firstIndex { $0.storeId == first }
            }
        }
        if let chosen {
            let chunkStore = ChunkStore<Chunk>(configuration: configuration)
            try reading.load(query, manifest: chosen, into: chunkStore)
            loaded.storeId = manifests[chosen].storeId
            loaded.chunkStore = chunkStore
        }
        loaded.chunksRead = reading.decoded.count
        loaded.bytesRead = footerBytes + reading.bytesRead
        return loaded
    }

    /// Reads `count` bytes at `offset`.
    fileprivate func pread(_ count: Int, at offset: UInt64) throws(Unusable) -> ByteStorage {
        let fd = self.fd
        let path = self.path
        return try ByteStorage(count: count, alignment: 16) { (dst) throws(Unusable) in
            var done = 0
            while done < count {
                let n = Glibc.pread(fd, dst.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw Unusable(
                        n == 0
                            ? "\(path) ends before byte \(offset + UInt64(count))"
                            : "read failed at byte \(offset): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    fileprivate var chunkLimit: UInt64 { endOffset }
}

/// One ``RecordingIndex/load(_:store:configuration:migratesSchemas:)``: the chunks decoded so far
/// (each once) and the bytes read.
private struct Reading {
    let index: RecordingIndex
    let decoder: ChunkDecoder
    var decoded: [RowKey: Chunk] = [:]
    var bytesRead: UInt64 = 0

    struct RowKey: Hashable {
        var manifest: Int
        var row: Int
    }

    init(index: RecordingIndex, decoder: ChunkDecoder) {
        self.index = index
        self.decoder = decoder
    }

    typealias Unusable = RecordingIndex.Unusable

    /// The chunk of one manifest row, read, decoded and checked against the row.
    mutating func chunk(manifest k: Int, row: Int) throws(Unusable) -> Chunk {
        if let c = decoded[RowKey(manifest: k, row: row)] { return c }
        let m = index.manifests[k]
        let (offset, size) = m.location(row: row)
        guard offset >= 16, size <= 1 << 31, offset + size <= index.chunkLimit else {
            throw Unusable("manifest row \(row) of \(m.storeId) points at \(offset)..<\(offset + size), outside the chunks")
        }
        let bytes = try index.pread(Int(size) + 16, at: offset - 16)
        bytesRead += size + 16
        let (kind, length) = bytes.withUnsafeBytes {
            (UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)), UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        guard kind == MessageKind.arrowMsg.rawValue, length == size else {
            throw Unusable("manifest row \(row) of \(m.storeId): no ArrowMsg of \(size) bytes at byte \(offset)")
        }
        let message: Message
        do {
            message = try MessageDecoding.decode(
                kind: .arrowMsg, payload: ByteSlice(storage: bytes, range: 16..<(16 + Int(size))), source: index.path,
                offset: offset - 16)
        } catch {
            throw Unusable(error.description)
        }
        guard case .arrowMsg(let msg) = message else { throw Unusable("not an ArrowMsg at byte \(offset)") }
        let id = m.chunkId(row: row)
        guard msg.chunkId == nil || msg.chunkId == id else {
            throw Unusable("manifest row \(row) of \(m.storeId) names chunk \(id), the message at byte \(offset) holds \(msg.chunkId!)")
        }
        let chunk: Chunk
        do {
            chunk = try decoder.decode(msg)
        } catch {
            throw Unusable("the chunk at byte \(offset) does not decode: \(error.message)")
        }
        guard chunk.id == id else {
            throw Unusable("manifest row \(row) of \(m.storeId) names chunk \(id), the payload at byte \(offset) is chunk \(chunk.id)")
        }
        guard chunk.isMigrated || chunk.entityPath == m.entityPath(row: row), chunk.isStatic == m.isStatic(row: row),
            chunk.numRows == m.numRows(row: row)
        else {
            throw Unusable("chunk \(id) at byte \(offset) is not what its manifest row \(row) says (entity, static flag or rows)")
        }
        decoded[RowKey(manifest: k, row: row)] = chunk
        return chunk
    }

    /// The store of the first message (from the start of the file) whose store satisfies `matches`.
    mutating func firstStore(where matches: (StoreId) -> Bool) throws(Unusable) -> StoreId {
        // The scan reads every payload before the store it looks for: bounded, the full read is the fallback.
        let budget: UInt64 = 64 << 20
        var offset = UInt64(StreamHeader.size)
        var spent: UInt64 = 0
        while offset + 16 <= index.chunkLimit {
            let head = try index.pread(16, at: offset)
            let (kind, length) = head.withUnsafeBytes {
                (UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)), UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            guard let k = MessageKind(rawValue: kind), k != .end, offset + 16 + length <= index.chunkLimit else { break }
            spent += 16 + length
            guard spent <= budget else { throw Unusable("the stores' order of appearance lies beyond the first 64 MiB") }
            let payload = ByteSlice(try index.pread(Int(length), at: offset + 16))
            bytesRead += 16 + length
            if let id = (try? MessageDecoding.decode(kind: k, payload: payload))?.storeId, matches(id) { return id }
            offset += 16 + length
        }
        throw Unusable("no message of the store asked for before the footer")
    }

    /// Reads the rows of manifest `k` that `query` needs into `store`.
    mutating func load(_ query: StoreQuery, manifest k: Int, into store: ChunkStore<Chunk>) throws(Unusable) {
        let m = index.manifests[k]
        let component = query.component
        var staticRows: [Int] = []
        var temporal: [(row: Int, range: ClosedRange<Int64>)] = []
        let timeline: String?
        switch query.mode {
        case .latestAt(let t, _), .range(let t, _, _): timeline = t
        case .staticData: timeline = nil
        }
        for row in 0..<m.count where m.entityPath(row: row) == query.entity {
            let s = m.summary(row: row)
            guard let c = s.components.first(where: { $0.descriptor.component == component }) else { continue }
            if s.isStatic {
                staticRows.append(row)
            } else if let timeline, let t = s.timelines.firstIndex(where: { $0.name == timeline }),
                t < c.perTimeline.count, let range = c.perTimeline[t].range
            {
                temporal.append((row, range))
            }
        }
        try insert(staticRows, of: k, into: store) { chunk, _ throws(Unusable) in
            guard (0..<chunk.componentCount).contains(where: { chunk.componentName(at: $0) == component }) else {
                throw Unusable("static chunk \(chunk.id) lacks \(component), which its manifest row lists")
            }
        }
        if case .staticData = query.mode { return }
        // Static data shadows temporal rows in latest-at and range alike.
        if store.staticCell(entity: query.entity, component: component) != nil { return }
        let needed: [(row: Int, range: ClosedRange<Int64>)]
        switch query.mode {
        case .latestAt(_, let time):
            let started = temporal.filter { $0.range.lowerBound <= time }
            // A chunk whose rows holding the component end at `best ≤ time` has a candidate at `best`:
            // a chunk ending before it holds only rows that lose to that one.
            let best = started.lazy.map(\.range.upperBound).filter { $0 <= time }.max()
            needed = started.filter { best == nil || $0.range.upperBound >= best! }
        case .range(_, let from, let through):
            needed = from > through ? [] : temporal.filter { $0.range.lowerBound <= through && $0.range.upperBound >= from }
        case .staticData:
            needed = []
        }
        let ranges = Dictionary(needed.map { ($0.row, $0.range) }, uniquingKeysWith: { a, _ in a })
        try insert(needed.map(\.row), of: k, into: store) { chunk, row throws(Unusable) in
            // The pruning above relies on the ranges: those of the chunks read must be the chunks' own.
            let actual = Self.nonNullRange(chunk, component: component, timeline: timeline!)
            guard actual == ranges[row] else {
                throw Unusable(
                    "manifest row \(row) gives \(component) on \(timeline!) the range \(ranges[row].map { "\($0)" } ?? "none"), chunk \(chunk.id) has \(actual.map { "\($0)" } ?? "none")")
            }
        }
    }

    /// Reads, checks and inserts the chunks of `rows` (in file order).
    private mutating func insert(
        _ rows: [Int], of k: Int, into store: ChunkStore<Chunk>, check: (Chunk, Int) throws(Unusable) -> Void
    ) throws(Unusable) {
        let m = index.manifests[k]
        for row in rows.sorted(by: { m.location(row: $0).offset < m.location(row: $1).offset }) {
            let chunk = try chunk(manifest: k, row: row)
            if chunk.isMigrated { throw Unusable("chunk \(chunk.id) was written by an older SDK (migrated on read)") }
            try check(chunk, row)
            do {
                _ = try store.insert(chunk)
            } catch {
                throw Unusable("chunk \(chunk.id) was not inserted: \(error.message)")
            }
        }
    }

    /// The smallest and largest time on `timeline` of the rows where `component` is not null.
    static func nonNullRange(_ chunk: Chunk, component name: String, timeline: String) -> ClosedRange<Int64>? {
        guard let c = (0..<chunk.componentCount).first(where: { chunk.componentName(at: $0) == name }),
            let t = (0..<chunk.timelineCount).first(where: { chunk.timelineName(at: $0) == timeline })
        else { return nil }
        var lo = Int64.max
        var hi = Int64.min
        for row in 0..<chunk.numRows where !chunk.isNull(component: c, row: row) {
            let v = chunk.time(timeline: t, row: row)
            lo = min(lo, v)
            hi = max(hi, v)
        }
        return lo <= hi ? lo...hi : nil
    }
}
