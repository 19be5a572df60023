import IngestCore
import Testing

/// An owner of memory that a ``ByteStorage`` borrows.
private final class Owner: @unchecked Sendable {
    // @unchecked: the bytes are written only in `init`, before the owner is shared.
    let bytes: UnsafeMutableRawBufferPointer

    init(_ values: [UInt8]) {
        bytes = .allocate(byteCount: values.count, alignment: 1)
        bytes.copyBytes(from: values)
    }

    deinit { bytes.deallocate() }
}

@Suite("Byte storage and slices")
struct ByteStorageTests {
    @Test("owned storage is 64-byte aligned and holds what the initializer wrote")
    func ownedStorage() {
        for n in [0, 1, 63, 64, 1000] {
            let storage = ByteStorage(count: n) { $0.copyBytes(from: (0..<n).map { UInt8(truncatingIfNeeded: $0) }) }
            #expect(Int(bitPattern: storage.unsafeBaseAddress) % 64 == 0)
            #expect(storage.count == n && !storage.isArenaSlab)
            #expect(storage.withUnsafeBytes { Array($0) } == (0..<n).map { UInt8(truncatingIfNeeded: $0) })
        }
        let copied = ByteStorage(copying: [9, 8, 7, 6])
        #expect(copied.withUnsafeBytes(1..<3) { Array($0) } == [8, 7])
        let fromBuffer = [UInt8]([1, 2, 3]).withUnsafeBytes { ByteStorage(copying: $0) }
        #expect(ByteSlice(fromBuffer).bytes == [1, 2, 3])
    }

    @Test("owned storage has the alignment asked for")
    func requestedAlignment() {
        for alignment in [1, 16, 64, 4096] {
            for n in [0, 5, 100] {
                let storage = ByteStorage(count: n, alignment: alignment) { $0.initializeMemory(as: UInt8.self, repeating: 7) }
                #expect(Int(bitPattern: storage.unsafeBaseAddress) % alignment == 0)
                #expect(storage.withUnsafeBytes { $0.allSatisfy { $0 == 7 } } && storage.count == n)
            }
        }
    }

    @Test("a throwing initializer makes no storage")
    func throwingInitializer() {
        struct Boom: Error {}
        #expect(throws: Boom.self) { _ = try ByteStorage(count: 16) { (_) throws(Boom) in throw Boom() } }
    }

    @Test("a borrowing storage views the owner's bytes without copying and keeps the owner alive")
    func borrowing() {
        weak var weakOwner: Owner?
        var storage: ByteStorage?
        do {
            let owner = Owner([1, 2, 3, 4, 5])
            weakOwner = owner
            storage = ByteStorage(unsafeBorrowing: UnsafeRawBufferPointer(rebasing: owner.bytes[1..<4]), owner: owner)
            #expect(storage!.unsafeBaseAddress == UnsafeRawPointer(owner.bytes.baseAddress! + 1))
        }
        #expect(weakOwner != nil, "the storage keeps its owner")
        #expect(storage!.count == 3 && storage!.withUnsafeBytes { Array($0) } == [2, 3, 4])
        #expect(!storage!.isArenaSlab)
        storage = nil
        #expect(weakOwner == nil, "released with the storage")
        let empty = ByteStorage(unsafeBorrowing: UnsafeRawBufferPointer(start: nil, count: 0), owner: Owner([]))
        #expect(empty.count == 0 && empty.withUnsafeBytes { $0.isEmpty })
    }

    @Test("slices compare and hash by their bytes, wherever they live")
    func sliceEquality() {
        let a = ByteSlice(copying: [0, 1, 2, 3, 4, 5])
        let b = ByteSlice(copying: [2, 3, 4])
        let tail = a.slice(2..<5)
        #expect(tail == b && tail.hashValue == b.hashValue)
        #expect(tail.storage === a.storage && tail.range == 2..<5 && tail.count == 3)
        #expect(a.slice(1..<4) != b && a != b)
        #expect(a.slice(3..<3) == ByteSlice(copying: []) && a.slice(3..<3).isEmpty)
        #expect(Set([tail, b, a]).count == 2)
    }

    @Test("out-of-range slices and ranges, and an alignment that is not a power of two, stop the process")
    func bounds() async {
        await #expect(processExitsWith: .failure) { _ = ByteSlice(storage: ByteStorage(copying: [1, 2]), range: 1..<3) }
        await #expect(processExitsWith: .failure) { _ = ByteSlice(copying: [1, 2]).slice(0..<3) }
        await #expect(processExitsWith: .failure) { ByteStorage(copying: [1, 2]).withUnsafeBytes(2..<3) { _ in } }
        await #expect(processExitsWith: .failure) { _ = ByteStorage(count: 8, alignment: 24) { _ in } }
    }
}
