#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IngestCore

/// A push decoder for RRD bytes: feed the input in pieces of any size and receive
/// ``StreamEvent``s in input order.
///
/// ```swift
/// var decoder = StreamDecoder(source: "points3d.rrd")
/// decoder.feed(block) { event in handle(event) }   // as often as needed
/// decoder.finish { event in handle(event) }        // at end of input
/// ```
///
/// Memory stays bounded by the largest message: bytes of a message that arrives in one piece are
/// handed out as a slice of that piece (zero-copy); a message spanning pieces is assembled into a
/// storage of its own that grows (doubling) with the bytes that arrive, up to the size the header
/// declares (capped by ``ReaderOptions/maxMessageSize``), so a lying length costs memory only for
/// bytes that exist. A reader may also read the rest of a large payload straight into that storage
/// (``readPayload(limit:_:_:)``) instead of feeding pieces that are copied there. Headers and
/// footers are accumulated in a 32-byte buffer.
///
/// Error policy: a bad protobuf payload inside a well-framed message is reported (with the message's
/// offset) and decoding goes on with the next message; a framing error (bad stream header, unknown
/// message kind, oversized message, a broken stream footer) is reported once, then the decoder skips
/// to the next `RRF2` that starts a valid stream header and goes on there (``ReaderOptions/resynchronize``;
/// without it, later bytes are ignored). A truncated unit is reported by ``finish(_:)``. A stream footer whose checksum does not match is reported after
/// the ``StreamEvent/streamFooter(_:offset:)`` event and decoding goes on.
///
/// End of a stream: in a stream written by SDK 0.28 or later (its header's version) an End message
/// must be followed by its 32-byte stream footer (else ``RRDError/Code/badFooter``); in an older
/// stream an End with an empty body followed by the end of the input or an `RRF2` stream header is
/// a complete stream without a footer (those SDKs write none). Every stream of a concatenation is read.
///
/// Store ids: a message whose `StoreId` lacks the application id (0.23/0.24) gets the one of its
/// store's `SetStoreInfo` (``LegacyStoreIds``), whatever its kind.
///
/// - Note: do not copy a decoder in the middle of a message: both copies would share the storage
///   being assembled.
public struct StreamDecoder {
    /// The input's name, copied into every error.
    public let source: String
    /// The limits in force.
    public let options: ReaderOptions

    private enum Phase {
        /// 12 bytes of stream header; `first`: at the very start of the input (EOF is an error).
        case streamHeader(first: Bool)
        /// At a message boundary: 4 bytes decide between a new stream header and a message header.
        case boundary
        /// 16 bytes of message header.
        case messageHeader
        /// `length` payload bytes of a message whose header is at `unitStart`.
        case payload(kind: MessageKind, length: Int)
        /// After an End message: 4 bytes tell whether a stream footer follows (the end of the input or
        /// an `RRF2` after the footer-less End of a pre-0.28 stream: none).
        case footerPeek
        /// 32 bytes of stream footer.
        case footer
        /// After a framing error (with ``ReaderOptions/resynchronize``): skipping bytes up to the next
        /// `RRF2` that starts a valid stream header.
        case scanning
        /// After a framing error (without resynchronisation) or `finish`.
        case stopped
    }

    /// While scanning: the bytes before the block position that may begin the magic (at most 31).
    private var carry: [UInt8] = []
    /// While scanning: the byte at the block position is the start of the unit that failed.
    private var skipOne = false
    /// Set from a framing error until a stream header parses again: a candidate `RRF2` that is not a
    /// valid header is skipped silently (the damage was reported once).
    private var recovering = false

    private var phase: Phase = .streamHeader(first: true)
    /// Offset of the next input byte.
    private var position: UInt64 = 0
    /// Offset of the unit (header, message, footer) being decoded.
    private var unitStart: UInt64 = 0
    /// Accumulated prefix of a fixed-size unit split across pieces.
    private var small: [UInt8] = []
    /// Storage being assembled for a payload split across pieces, and how much of it is filled.
    private var assembly: ByteStorage?
    private var assembled = 0
    /// Offset of the current stream's header (footer offsets are relative to it).
    private var streamStart: UInt64 = 0
    /// The last End message: header offset and payload.
    private var endOffset: UInt64 = 0
    private var endPayload: ByteSlice?
    /// Whether the current stream's writer puts a stream footer after its End (``StreamHeader/writesStreamFooter``).
    private var streamWritesFooter = true
    /// Whether the last End message completes its stream without a footer: an empty body, from a
    /// writer that puts no footer after it (SDKs before 0.28).
    private var endIsFooterless: Bool { !streamWritesFooter && (endPayload?.isEmpty ?? true) }
    /// The payload decoding, with the store-id state it keeps across messages (canonical ids, legacy
    /// ids completed from their store's `SetStoreInfo`).
    private var payloads: MessagePayloadDecoder

    /// Offset just after the last complete unit (stream header, message or stream footer).
    public private(set) var bytesConsumed: UInt64 = 0

    /// Bytes allocated for the payload being assembled now (0 between messages).
    var assemblyAllocated: Int { assembly?.count ?? 0 }

    /// Whether the decoder ignores further input (after a framing error or ``finish(_:)``).
    public var isStopped: Bool {
        if case .stopped = phase { return true }
        return false
    }

    /// A decoder for the input named `source` (a path, `-`, or a label used in errors).
    public init(source: String, options: ReaderOptions = .init()) {
        self.source = source
        self.options = options
        payloads = MessagePayloadDecoder(source: source)
        small.reserveCapacity(StreamFooterInfo.size)
    }

    /// Feeds the next piece of input, copying it (feed a ``/IngestCore/ByteSlice`` to avoid the copy).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ sink: (consuming StreamEvent) -> Void) {
        if isStopped || bytes.isEmpty {
            position += UInt64(bytes.count)
            return
        }
        feed(ByteSlice(ByteStorage(copying: bytes)), sink)
    }

    /// Feeds the next piece of input; payloads that lie wholly inside it are slices of it.
    public mutating func feed(_ block: ByteSlice, _ sink: (consuming StreamEvent) -> Void) {
        var i = 0
        let n = block.count
        while i < n {
            // Fast path: a message whose header and payload lie wholly in the block, at a boundary
            // (the usual case): no per-unit dispatch. Anything else (a stream header, a unit split
            // across blocks, a header to reject) takes the general path below.
            if case .boundary = phase, small.isEmpty, n - i >= 20 {
                let (magic, rawKind, declared) = block.withUnsafeBytes { b in
                    (
                        UInt32(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self)),
                        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self)),
                        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                    )
                }
                if magic != Self.rrf2, let kind = MessageKind(rawValue: rawKind), declared <= options.maxMessageSize,
                    declared <= UInt64(n - i - 16)
                {
                    let length = Int(declared)
                    let payload = block.slice((i + 16)..<(i + 16 + length))
                    i += 16 + length
                    position += 16 + UInt64(length)
                    completeMessage(kind: kind, payload: payload, sink)
                    continue
                }
            }
            switch phase {
            case .stopped:
                position += UInt64(n - i)
                return
            case .scanning:
                i = scan(block, from: i, sink)
            case .payload(let kind, let length):
                if assembly == nil && n - i >= length {
                    let slice = block.slice(i..<(i + length))
                    i += length
                    position += UInt64(length)
                    completeMessage(kind: kind, payload: slice, sink)
                    continue
                }
                if assembly == nil {
                    // Sized by what has arrived, not by the declared length: a corrupt or lying length
                    // must not allocate up to `maxMessageSize` before its bytes exist. Grows by doubling
                    // (capped at `length`, so a complete payload fills its storage exactly).
                    let capacity = Self.assemblyCapacity(for: length, have: 0, arriving: n - i)
                    assembly = ByteStorage(count: capacity, alignment: 16) { _ in }
                    assembled = 0
                } else if assembled == assembly!.count {
                    let old = assembly!
                    let filled = assembled
                    let capacity = Self.assemblyCapacity(for: length, have: filled, arriving: n - i)
                    assembly = ByteStorage(count: capacity, alignment: 16) {
                        $0.baseAddress!.copyMemory(from: old.unsafeBaseAddress, byteCount: filled)
                    }
                }
                let take = Swift.min(assembly!.count - assembled, n - i)
                let storage = assembly!
                // The storage is private to this decoder until the message is complete: no slice
                // of it exists yet, so writing to it here does not break its immutability contract.
                block.withUnsafeBytes { src in
                    storage.unsafeMutableBaseAddress.advanced(by: assembled)
                        .copyMemory(from: src.baseAddress!.advanced(by: i), byteCount: take)
                }
                assembled += take
                i += take
                position += UInt64(take)
                if assembled == length {
                    assembly = nil
                    completeMessage(kind: kind, payload: ByteSlice(storage), sink)
                }
            default:
                let need = unitSize
                if small.isEmpty && n - i >= need {
                    let result = block.withUnsafeBytes { b in
                        handleUnit(UnsafeRawBufferPointer(rebasing: b[i..<(i + need)]), sink)
                    }
                    if result != .peeked {
                        i += need
                        position += UInt64(need)
                        if result == .consumed { unitStart = position }
                    }
                } else {
                    let have = small.count
                    if have < need {
                        let take = Swift.min(need - have, n - i)
                        block.withUnsafeBytes { b in small.append(contentsOf: b[i..<(i + take)]) }
                        i += take
                        position += UInt64(take)
                    }
                    if small.count < need { return }
                    let unit = small
                    let result = unit.withUnsafeBytes {
                        handleUnit(UnsafeRawBufferPointer(rebasing: $0[0..<need]), sink)
                    }
                    if result != .peeked {
                        small.removeAll(keepingCapacity: true)
                        if result == .consumed { unitStart = position }
                    } else if case .scanning = phase {
                        // The failed unit's bytes are behind the block position: scan them from its second byte.
                        carry = Array(small.dropFirst())
                        small.removeAll(keepingCapacity: true)
                        skipOne = false
                        // Scan the carried bytes now: the block may hold nothing more.
                        i = scan(block, from: i, sink)
                    }
                }
            }
        }
        // A zero-length payload completes without input.
        completeEmptyPayload(sink)
    }

    /// Payload bytes still to come for the message being read, when its payload did not arrive whole
    /// (0 otherwise): how much ``readPayload(limit:_:_:)`` can take.
    public var payloadBytesMissing: Int {
        guard case .payload(_, let length) = phase else { return 0 }
        return length - (assembly == nil ? 0 : assembled)
    }

    /// Lets `read` put the next input bytes straight into the storage the current payload is
    /// assembled in (no copy out of a piece, as `feed(_:_:)` would make), for a payload
    /// whose rest is large (see ``payloadBytesMissing``).
    ///
    /// `read` gets room for at most `limit` bytes (never past the declared length) and returns how
    /// many it wrote (0: none now, like a read at the end of input). The storage grows as with
    /// `feed(_:_:)`, by doubling: to at most the largest of twice what has arrived, what has arrived
    /// plus `limit`, and 64 KiB (never past the declared length). When the payload is complete its
    /// message goes to `sink`.
    /// - Returns: the bytes `read` wrote (they count as input, like fed bytes).
    /// - Precondition: ``payloadBytesMissing`` > 0.
    public mutating func readPayload<E: Error>(
        limit: Int, _ sink: (consuming StreamEvent) -> Void,
        _ read: (UnsafeMutableRawBufferPointer) throws(E) -> Int
    ) throws(E) -> Int {
        guard case .payload(let kind, let length) = phase, limit > 0 else {
            preconditionFailure("readPayload(limit:_:_:) outside a payload")
        }
        let have = assembly == nil ? 0 : assembled
        let want = Swift.min(limit, length - have)
        precondition(want > 0, "readPayload(limit:_:_:) with no payload bytes missing")
        if assembly == nil {
            let capacity = Self.assemblyCapacity(for: length, have: 0, arriving: want)
            assembly = ByteStorage(count: capacity, alignment: 16) { _ in }
            assembled = 0
        } else if assembled == assembly!.count {
            let old = assembly!
            let filled = assembled
            let capacity = Self.assemblyCapacity(for: length, have: filled, arriving: want)
            assembly = ByteStorage(count: capacity, alignment: 16) {
                $0.baseAddress!.copyMemory(from: old.unsafeBaseAddress, byteCount: filled)
            }
        }
        let storage = assembly!
        let room = Swift.min(storage.count - assembled, want)
        // As in `feed`: no slice of the storage exists before the payload is complete.
        let n = try read(UnsafeMutableRawBufferPointer(start: storage.unsafeMutableBaseAddress + assembled, count: room))
        precondition(n >= 0 && n <= room, "readPayload(limit:_:_:): read reported \(n) bytes for \(room) of room")
        assembled += n
        position += UInt64(n)
        if assembled == length {
            assembly = nil
            completeMessage(kind: kind, payload: ByteSlice(storage), sink)
        }
        return n
    }

    /// The next capacity of a payload being assembled: at least what arrives now, at least double what
    /// is held (amortised O(1) copies per byte), at least 64 KiB, never more than the declared `length`.
    static func assemblyCapacity(for length: Int, have: Int, arriving: Int) -> Int {
        Swift.min(length, Swift.max(have + arriving, 2 * have, 1 << 16))
    }

    /// Signals the end of input: reports a stream, message or footer cut short. Later feeds are ignored.
    public mutating func finish(_ sink: (consuming StreamEvent) -> Void) {
        completeEmptyPayload(sink)
        let have = UInt64(position - unitStart)
        switch phase {
        case .stopped, .scanning:
            break
        case .streamHeader(let first):
            if first && have == 0 {
                sink(
                    .error(RRDError(.notRRD, source: source, offset: 0, "empty input: expected an RRF2 stream header")))
            } else if have > 0 {
                sink(
                    .error(
                        RRDError(
                            .truncated, source: source, offset: unitStart,
                            "truncated stream header: expected 12 bytes, input ends after \(have)")))
            }
        case .boundary, .messageHeader:
            if have > 0 {
                sink(
                    .error(
                        RRDError(
                            .truncated, source: source, offset: unitStart,
                            "truncated message header: expected 16 bytes, input ends after \(have)")))
            }
        case .payload(let kind, let length):
            sink(
                .error(
                    RRDError(
                        .truncated, source: source, offset: unitStart,
                        "truncated \(kind) payload: the message header declares \(length) bytes, input ends after \(have - 16)"
                    )))
            // A damaged length may have swallowed later streams: look for one in the bytes it took.
            if options.resynchronize, let storage = assembly, assembled >= StreamHeader.size,
                let k = Self.firstMagic(in: UnsafeRawBufferPointer(start: storage.unsafeBaseAddress, count: assembled))
            {
                let filled = assembled
                assembly = nil
                position = unitStart + 16 + UInt64(k)
                unitStart = position
                small.removeAll(keepingCapacity: true)
                phase = .streamHeader(first: false)
                recovering = true
                feed(ByteSlice(storage: storage, range: k..<filled), sink)
                finish(sink)
                return
            }
        case .footerPeek where have == 0 && endIsFooterless:
            // An End with an empty body at the end of the input (SDKs before 0.28): a complete stream.
            break
        case .footerPeek, .footer:
            sink(
                .error(
                    RRDError(
                        .badFooter, source: source, offset: unitStart,
                        "End message at \(endOffset) is not followed by a complete 32-byte stream footer: input ends after \(have) bytes"
                    )))
        }
        assembly = nil
        phase = .stopped
    }

    // MARK: - units

    private var unitSize: Int {
        switch phase {
        case .streamHeader: return StreamHeader.size
        case .boundary, .footerPeek: return 4
        case .messageHeader: return 16
        case .footer: return StreamFooterInfo.size
        case .payload, .stopped, .scanning: return 0
        }
    }

    static let rrf2: UInt32 = 0x3246_5252  // "RRF2" read little-endian

    private static func isRRF2(_ b: UnsafeRawBufferPointer) -> Bool {
        UInt32(littleEndian: b.loadUnaligned(as: UInt32.self)) == rrf2
    }

    /// What a fixed-size unit's handler did with its bytes.
    private enum UnitResult {
        /// Not consumed: they only decided what comes next, and the same bytes start the next unit.
        case peeked
        /// Consumed; the next unit starts after them.
        case consumed
        /// Consumed, but they are the start of a larger unit (a message header before its payload).
        case continueUnit
    }

    /// Handles a complete fixed-size unit.
    private mutating func handleUnit(_ b: UnsafeRawBufferPointer, _ sink: (consuming StreamEvent) -> Void) -> UnitResult {
        switch phase {
        case .streamHeader(let first):
            if !first && !Self.isRRF2(b) {
                fail(
                    RRDError(
                        .notRRD, source: source, offset: unitStart,
                        "trailing bytes after the end of a stream: expected an RRF2 stream header or end of input, found \"\(printable(Array(b[0..<4])))\""
                    ),
                    sink)
                return .peeked
            }
            do {
                let header = try StreamHeader.parse(b, source: source, offset: unitStart)
                recovering = false
                streamStart = unitStart
                streamWritesFooter = header.writesStreamFooter
                bytesConsumed = unitStart + UInt64(StreamHeader.size)
                phase = .boundary
                sink(.streamHeader(header, offset: unitStart))
                return .consumed
            } catch {
                fail(error, sink)
                return .peeked
            }
        case .boundary:
            phase = Self.isRRF2(b) ? .streamHeader(first: false) : .messageHeader
            return .peeked
        case .messageHeader:
            let rawKind = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self))
            let length = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            guard let kind = MessageKind(rawValue: rawKind) else {
                fail(
                    RRDError(
                        .unknownMessageKind, source: source, offset: unitStart,
                        "unknown message kind: expected 0...3 (End, SetStoreInfo, ArrowMsg, BlueprintActivationCommand), found \(rawKind)"
                    ),
                    sink)
                return .peeked
            }
            guard length <= options.maxMessageSize, length <= UInt64(Int.max / 2) else {
                fail(
                    RRDError(
                        .tooLarge, source: source, offset: unitStart,
                        "\(kind) message declares a \(length)-byte payload, above the limit of \(options.maxMessageSize) bytes"
                    ),
                    sink)
                return .peeked
            }
            phase = .payload(kind: kind, length: Int(length))
            return .continueUnit
        case .footerPeek:
            if Self.isRRF2(b) {
                // Before 0.28 an End has an empty body and no stream footer: the next stream's header
                // follows directly, and that stream is complete. An End whose body is an RRD footer
                // (0.28 on) must be followed by its 32-byte stream footer.
                if !endIsFooterless {
                    sink(
                        .error(
                            RRDError(
                                .badFooter, source: source, offset: unitStart,
                                "End message at \(endOffset) is not followed by a stream footer: expected 32 footer bytes, found an RRF2 stream header"
                            )))
                }
                endPayload = nil
                phase = .streamHeader(first: false)
            } else {
                phase = .footer
            }
            return .peeked
        case .footer:
            return handleFooter(b, sink)
        case .payload, .stopped, .scanning:
            return .peeked
        }
    }

    private mutating func handleFooter(_ b: UnsafeRawBufferPointer, _ sink: (consuming StreamEvent) -> Void) -> UnitResult {
        let start = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self))
        let length = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let crc = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        let magic = Array(b[20..<28])
        let entries = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        guard magic == Array("RRF2FOOT".utf8) else {
            fail(
                RRDError(
                    .badFooter, source: source, offset: unitStart + 20,
                    "stream footer after the End message at \(endOffset): expected \"RRF2FOOT\", found \"\(printable(magic))\""
                ),
                sink)
            return .peeked
        }
        guard entries == 1 else {
            fail(
                RRDError(
                    .badFooter, source: source, offset: unitStart + 28,
                    "stream footer after the End message at \(endOffset): expected 1 entry, found \(entries)"), sink)
            return .peeked
        }
        let payload = endPayload ?? ByteSlice(copying: [])
        let payloadStart = endOffset + 16 - streamStart
        let points = start == payloadStart && length == UInt64(payload.count)
        var crcOK = true
        if options.verifyFooterChecksum {
            crcOK = payload.withUnsafeBytes { XXHash32.hash($0, seed: StreamFooterInfo.checksumSeed) } == crc
        }
        let info = StreamFooterInfo(
            endMessageOffset: endOffset, rrdFooterStart: start, rrdFooterLength: length, crc: crc, numEntries: entries,
            pointsAtEndPayload: points, crcOK: crcOK)
        bytesConsumed = unitStart + UInt64(StreamFooterInfo.size)
        endPayload = nil
        phase = .streamHeader(first: false)
        sink(.streamFooter(info, offset: unitStart))
        if !points {
            sink(
                .error(
                    RRDError(
                        .badFooter, source: source, offset: unitStart,
                        "stream footer: expected rrd_footer_start \(payloadStart) and rrd_footer_len \(payload.count) (the End payload), found \(start) and \(length)"
                    )))
        }
        if !crcOK {
            let actual = payload.withUnsafeBytes { XXHash32.hash($0, seed: StreamFooterInfo.checksumSeed) }
            sink(
                .error(
                    RRDError(
                        .checksumMismatch, source: source, offset: unitStart + 16,
                        "stream footer checksum mismatch: the footer stores \(hex32(crc)), but the \(payload.count)-byte End payload "
                            + "hashes to \(hex32(actual)) (xxHash32, seed 7850921)"
                    )))
        }
        return .consumed
    }

    private mutating func fail(_ error: RRDError, _ sink: (consuming StreamEvent) -> Void) {
        assembly = nil
        guard options.resynchronize else {
            phase = .stopped
            sink(.error(error))
            return
        }
        // Go on at the next stream header. The failed unit starts at the block position (fast path)
        // or in `small` (the caller moves it to `carry`): either way, skip its first byte.
        phase = .scanning
        carry = []
        skipOne = true
        if !recovering { sink(.error(error)) }
        recovering = true
    }

    /// Offset of the first `RRF2` in `b`, if any.
    private static func firstMagic(in b: UnsafeRawBufferPointer) -> Int? {
        guard b.count >= 4, let base = b.baseAddress else { return nil }
        var j = 0
        while j + 4 <= b.count {
            guard let p = memchr(base + j, 0x52, b.count - 3 - j) else { return nil }  // "R"
            let k = base.distance(to: UnsafeRawPointer(p))
            if b[k + 1] == 0x52 && b[k + 2] == 0x46 && b[k + 3] == 0x32 { return k }
            j = k + 1
        }
        return nil
    }

    /// Skips bytes up to the next `RRF2` (which may begin in `carry`, the bytes before `from`);
    /// on a find, the stream header phase starts there. Returns the block position to go on from.
    private mutating func scan(_ block: ByteSlice, from i: Int, _ sink: (consuming StreamEvent) -> Void) -> Int {
        let magic: [UInt8] = Array("RRF2".utf8)
        var i = i
        if skipOne {
            skipOne = false
            if i < block.count {
                i += 1
                position += 1
            }
        }
        let n = block.count
        // A magic that starts in the carried bytes and ends in this block.
        if !carry.isEmpty {
            let head = block.withUnsafeBytes { Array($0[i..<Swift.min(n, i + 3)]) }
            let joined = carry + head
            for k in 0..<carry.count where k + 4 <= joined.count && Array(joined[k..<(k + 4)]) == magic {
                // Decode the carried bytes from the magic on as input again (they may hold more than
                // the stream header), then go on with the block.
                let again = Array(carry[k...])
                carry = []
                position -= UInt64(again.count)
                unitStart = position
                small.removeAll(keepingCapacity: true)
                phase = .streamHeader(first: false)
                feed(ByteSlice(copying: again), sink)
                return i
            }
            if joined.count < carry.count + 3 && i + head.count == n {
                // Too few bytes to decide: keep the tail (at most 3 bytes can begin a magic).
                carry = Array(joined.suffix(3))
                position += UInt64(n - i)
                return n
            }
            carry = []
        }
        let found: Int? = block.withUnsafeBytes { b in
            Self.firstMagic(in: UnsafeRawBufferPointer(rebasing: b[i...])).map { $0 + i }
        }
        if let k = found {
            position += UInt64(k - i)
            unitStart = position
            small.removeAll(keepingCapacity: true)
            phase = .streamHeader(first: false)
            return k
        }
        // Keep the last bytes: a magic may begin there and end in the next block.
        let keep = Swift.min(3, n - i)
        carry = block.withUnsafeBytes { Array($0[(n - keep)..<n]) }
        position += UInt64(n - i)
        return n
    }

    // MARK: - messages

    private mutating func completeEmptyPayload(_ sink: (consuming StreamEvent) -> Void) {
        if case .payload(let kind, 0) = phase {
            completeMessage(kind: kind, payload: ByteSlice(copying: []), sink)
        }
    }

    private mutating func completeMessage(kind: MessageKind, payload: ByteSlice, _ sink: (consuming StreamEvent) -> Void) {
        let offset = unitStart
        unitStart = position
        bytesConsumed = position
        phase = .boundary
        if kind == .end {
            endOffset = offset
            endPayload = payload
            phase = .footerPeek
        }
        do throws(RRDError) {
            let message = try payloads.decode(kind: kind, payload: payload, offset: offset)
            sink(.message(FramedMessage(offset: offset, length: UInt64(payload.count), message: message)))
        } catch {
            sink(.error(error))
        }
    }
}

/// `0x` + 8 hex digits.
func hex32(_ v: UInt32) -> String {
    "0x" + hex(UInt8(v >> 24)) + hex(UInt8((v >> 16) & 0xFF)) + hex(UInt8((v >> 8) & 0xFF)) + hex(UInt8(v & 0xFF))
}
