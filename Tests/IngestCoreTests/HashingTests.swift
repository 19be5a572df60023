import IngestCore
import Testing

@Suite("The hash mixer, the byte hash and the position table")
struct HashingTests {
    @Test("the mixer is a bijection on words that spreads neighbours; mixing two words is order-sensitive")
    func mixer() {
        let words: [UInt64] = Array(0..<2048) + (0..<64).map { UInt64(1) << $0 }
        let mixed = words.map(HashMixer.mix)
        #expect(Set(mixed).count == Set(words).count)
        // Consecutive inputs land in different low bits (the table's bucket bits) most of the time.
        let lowBits = Set((0..<1024).map { HashMixer.mix(UInt64($0)) & 1023 })
        #expect(lowBits.count > 600, "\(lowBits.count) distinct buckets of 1024")
        #expect(HashMixer.mix(1, 2) != HashMixer.mix(2, 1))
        #expect(HashMixer.mix(5, 0) == HashMixer.mix(5))
    }

    @Test("the byte hash: equal bytes hash equally however they are fed; length and every byte count")
    func byteHash() {
        let text = "/robot/arm0/joint1/signal"
        let bytes = Array(text.utf8)
        let whole = bytes.withUnsafeBytes { ByteHasher.hash($0) }
        #expect(ByteHasher.hash(text) == whole)
        #expect(ByteHasher.hash(String(Substring(text))) == whole)
        // Each byte changed, and each shorter prefix, gives another hash.
        var seen = Set([whole])
        for i in bytes.indices {
            var changed = bytes
            changed[i] ^= 1
            seen.insert(changed.withUnsafeBytes { ByteHasher.hash($0) })
            seen.insert(bytes[..<i].withUnsafeBytes { ByteHasher.hash($0) })
        }
        #expect(seen.count == 1 + 2 * bytes.count)
        // Trailing zero bytes are not lost (the length is mixed in).
        #expect([UInt8](repeating: 0, count: 3).withUnsafeBytes { ByteHasher.hash($0) }
            != [UInt8](repeating: 0, count: 4).withUnsafeBytes { ByteHasher.hash($0) })
        // Streaming: pieces plus counts, as the schema cache combines them.
        var a = ByteHasher()
        var b = ByteHasher()
        bytes.withUnsafeBytes {
            a.combine(UnsafeRawBufferPointer(rebasing: $0[..<10]))
            a.combine(5)
            b.combine(UnsafeRawBufferPointer(rebasing: $0[..<10]))
            b.combine(6)
        }
        #expect(a.value != b.value)
    }

    @Test("position table: emptied with or without its buckets, it works as new; grows past its load factor")
    func positionTableRemoveAll() {
        var names: [String] = []
        var table = PositionTable()
        func add(_ s: String) {
            let h = ByteHasher.hash(s)
            guard names.withUnsafeBufferPointer({ n in table.find(hash: h) { n[Int($0)] == s } }) == nil else { return }
            table.insert(hash: h, position: Int32(names.count))
            names.append(s)
        }
        func position(_ s: String) -> Int32? {
            names.withUnsafeBufferPointer { n in table.find(hash: ByteHasher.hash(s)) { n[Int($0)] == s } }
        }
        for k in 0..<1000 { add("/e/\(k % 700)") }
        #expect(table.count == 700 && names.count == 700)
        #expect((0..<700).allSatisfy { position("/e/\($0)") == Int32($0) })
        #expect(table.bucketBytes >= 700 * 4 / 3 * 8)
        let bytes = table.bucketBytes
        table.removeAll(keepingCapacity: true)
        names.removeAll()
        #expect(table.count == 0 && table.positions.isEmpty && table.bucketBytes == bytes)
        #expect(position("/e/1") == nil)
        add("/x")
        #expect(position("/x") == 0 && table.count == 1)
        table.removeAll()
        names.removeAll()
        #expect(table.count == 0 && table.bucketBytes == 0)
        add("/y")
        #expect(position("/y") == 0 && position("/x") == nil)
    }
}
