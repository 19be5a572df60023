#if LIVE_SERVER
import GRPCCore
import IngestCore
import RRD

/// One `WriteMessagesRequest` as received: the `LogMsg` it carries, taken apart but not decoded
/// (the call's reading thread decodes the payload, as a file's reader does).
struct ReceivedLogMsg: Sendable {
    /// What the request holds.
    enum Content: Sendable {
        /// A `LogMsg` whose oneof is set: its kind and payload, and the whole `LogMsg`'s bytes (what
        /// `ReadMessages` sends back, as is).
        case message(LogMsg, logMsg: ByteSlice)
        /// A request without a `LogMsg`, or a `LogMsg` with no member set.
        case empty
        /// Bytes that are not a `WriteMessagesRequest`.
        case malformed(RRDError)
    }

    var content: Content
    /// The request's size on the wire (its protobuf bytes).
    var wireBytes: Int
}

/// Takes a `WriteMessagesRequest` apart from the transport's bytes: copies them once into a
/// ``IngestCore/ByteStorage`` (the transport's buffer is not ours to keep) and cuts the `LogMsg` and its
/// member out of that storage as slices, so the Arrow payload the store's worker decodes is the
/// bytes of that copy, never copied again. Never throws: a malformed request is a value, which the
/// call reports in order with its other messages.
struct WriteMessagesDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> ReceivedLogMsg {
        let count = serializedMessageBytes.count
        let storage = serializedMessageBytes.withUnsafeBytes { src in
            // 16-byte alignment (malloc's own): payload offsets inside a protobuf message are arbitrary anyway.
            ByteStorage(count: src.count, alignment: 16) { dst in
                if src.count > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count) }
            }
        }
        let request = ByteSlice(storage)
        do throws(RRDError) {
            guard let logMsgBytes = try LogMsg.messageField(1, of: request, in: "WriteMessagesRequest") else {
                return ReceivedLogMsg(content: .empty, wireBytes: count)
            }
            let logMsg = try LogMsg.decode(logMsgBytes)
            guard logMsg.kind != nil else { return ReceivedLogMsg(content: .empty, wireBytes: count) }
            return ReceivedLogMsg(content: .message(logMsg, logMsg: logMsgBytes), wireBytes: count)
        } catch {
            return ReceivedLogMsg(content: .malformed(error), wireBytes: count)
        }
    }
}

/// Writes a `ReadMessagesResponse { LogMsg log_msg = 1; }` around `LogMsg` bytes that were received
/// (field 1, length-delimited, then the bytes as they came): no re-encoding.
struct ReadMessagesSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ logMsg: ByteSlice) throws -> Bytes {
        var header: [UInt8] = [0x0A]  // field 1, wire type 2
        var n = UInt64(logMsg.count)
        while n >= 0x80 {
            header.append(UInt8(truncatingIfNeeded: n) | 0x80)
            n >>= 7
        }
        header.append(UInt8(n))
        var bytes = Bytes(repeating: 0, count: header.count + logMsg.count)
        bytes.withUnsafeMutableBytes { dst in
            header.withUnsafeBytes { dst.copyMemory(from: $0) }
            logMsg.withUnsafeBytes { src in
                if !src.isEmpty {
                    (dst.baseAddress! + header.count).copyMemory(from: src.baseAddress!, byteCount: src.count)
                }
            }
        }
        return bytes
    }
}
#endif
