/// An error decoding one `ArrowMsg` into a chunk: LZ4, Arrow IPC, or the chunk conventions.
public struct ChunkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong (with the column path and IPC byte offset when known).
    public var message: String
    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
