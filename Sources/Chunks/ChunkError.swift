/// An error decoding one uncompressed Arrow IPC payload into a chunk: the Arrow IPC stream, or the
/// chunk conventions. (The ingestion layer reports a payload that does not decompress with the same
/// type, carrying the decompression's message.)
public struct ChunkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong (with the column path and IPC byte offset when known).
    public var message: String
    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }
    /// The ``message`` itself.
    public var description: String { message }
}
