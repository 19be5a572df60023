import IngestCore
import Testing

@Suite("Ids: TUIDs, chunk ids and row ids")
struct IdsTests {
    static let sample = Tuid(timeNs: 0x18EA_719E_342D_2970, inc: 0x275e_5ef0_1982_e30f)

    @Test("text forms: chunk ids carry chunk_, row ids and TUIDs are 32 hex digits (time upper-case, counter lower-case)")
    func textForms() {
        #expect(Self.sample.description == "18EA719E342D2970275e5ef01982e30f")
        #expect(ChunkId(Self.sample).description == "chunk_18EA719E342D2970275e5ef01982e30f")
        #expect(RowId(Self.sample).description == "18EA719E342D2970275e5ef01982e30f")
        #expect("\(ChunkId(timeNs: 0, inc: 1))" == "chunk_00000000000000000000000000000001")
        #expect("\(RowId(timeNs: .max, inc: 0))" == "FFFFFFFFFFFFFFFF0000000000000000")
    }

    @Test("parsing: each id takes its own prefix or none, in either case; the other prefix and bad text are refused")
    func parsing() {
        let hex = Self.sample.description
        #expect(Tuid(parsing: hex) == Self.sample)
        #expect(Tuid(parsing: "chunk_" + hex) == Self.sample)
        #expect(Tuid(parsing: "row_" + hex) == Self.sample)
        #expect(ChunkId(parsing: "chunk_" + hex) == ChunkId(Self.sample))
        #expect(ChunkId(parsing: hex.lowercased()) == ChunkId(Self.sample))
        #expect(ChunkId(parsing: "row_" + hex) == nil)
        #expect(RowId(parsing: hex.uppercased()) == RowId(Self.sample))
        #expect(RowId(parsing: "row_" + hex) == RowId(Self.sample))
        #expect(RowId(parsing: "chunk_" + hex) == nil)
        for bad in ["", "chunk_", String(hex.dropLast()), hex + "0", "g" + hex.dropFirst()] {
            #expect(Tuid(parsing: bad) == nil, "\(bad)")
            #expect(ChunkId(parsing: bad) == nil, "\(bad)")
            #expect(RowId(parsing: bad) == nil, "\(bad)")
        }
        // Round trips.
        let id = ChunkId(timeNs: 12345, inc: 678)
        #expect(ChunkId(parsing: id.description) == id)
        let row = RowId(timeNs: 1, inc: .max)
        #expect(RowId(parsing: row.description) == row)
    }

    @Test("order is the TUID's: time, then counter")
    func order() {
        let ids = [(5, 1), (4, 9), (5, 0), (0, 0), (4, 10)].map { Tuid(timeNs: UInt64($0.0), inc: UInt64($0.1)) }
        let sorted = ids.sorted()
        #expect(sorted.map(\.timeNs) == [0, 4, 4, 5, 5])
        #expect(sorted.map(\.inc) == [0, 9, 10, 0, 1])
        #expect(ids.map(ChunkId.init).sorted().map(\.tuid) == sorted)
        #expect(ids.map(RowId.init).sorted().map(\.tuid) == sorted)
        #expect(ChunkId(timeNs: 1, inc: .max) < ChunkId(timeNs: 2, inc: 0))
        #expect(!(RowId(timeNs: 2, inc: 0) < RowId(timeNs: 2, inc: 0)))
    }

    @Test("hashing: equal ids hash equally everywhere; sets and dictionaries of ids behave like sets of pairs")
    func hashing() {
        var state: UInt64 = 0x9E37
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 20
        }
        var pairs = Set<[UInt64]>()
        var chunkIds = Set<ChunkId>()
        var rowIds: [RowId: Int] = [:]
        for k in 0..<3000 {
            // Counting ids (one process), small random ones with many repeats, and one repeated id.
            let (t, i): (UInt64, UInt64) =
                switch k % 3 {
                case 0: (1_700_000_000_000_000_000, UInt64(k))
                case 1: (next() % 40, next() % 40)
                default: (7, 1_000_000)
                }
            let tuid = Tuid(timeNs: t, inc: i)
            #expect(tuid.hash64 == Tuid(timeNs: t, inc: i).hash64)
            #expect(ChunkId(tuid).hash64 == tuid.hash64 && RowId(tuid).hash64 == tuid.hash64)
            #expect(tuid._rawHashValue(seed: k) == Tuid(timeNs: t, inc: i)._rawHashValue(seed: k))
            #expect(pairs.insert([t, i]).inserted == chunkIds.insert(ChunkId(tuid)).inserted)
            rowIds[RowId(tuid), default: 0] += 1
        }
        #expect(chunkIds.count == pairs.count)
        #expect(rowIds.count == pairs.count)
        #expect(rowIds[RowId(timeNs: 7, inc: 1_000_000)] == 1000)
        // The halves are not interchangeable, and the seed changes the table hash.
        #expect(Tuid(timeNs: 1, inc: 2).hash64 != Tuid(timeNs: 2, inc: 1).hash64)
        #expect(Self.sample._rawHashValue(seed: 1) != Self.sample._rawHashValue(seed: 2))
        var h1 = Hasher()
        ChunkId(Self.sample).hash(into: &h1)
        var h2 = Hasher()
        Self.sample.hash(into: &h2)
        #expect(h1.finalize() == h2.finalize())
    }

    @Test("store ids: copies share one box and compare by pointer; equal triples made apart are equal")
    func storeIds() {
        let a = StoreId(kind: .recording, applicationId: "app", recordingId: "rec")
        let b = StoreId(kind: .recording, applicationId: "app", recordingId: "rec")
        let c = a
        #expect(c.isIdentical(to: a) && !b.isIdentical(to: a))
        #expect(a == b && a.hashValue == b.hashValue)
        var d = a
        d.kind = .blueprint
        #expect(d != a && !d.isIdentical(to: a) && a.kind == .recording)
        #expect(a.description == "recording:app:rec")
        #expect(StoreKind(rawValue: 7).description == "unknown(7)")
    }
}
