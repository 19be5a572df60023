import ArrowIPC
import RRD

/// A placeholder until the chunk model lands (issue 3): the API the engine codes against.
public struct Chunk: Sendable {
    public var id: Tuid
    public var entityPath: String
    public var numRows: Int
    public var isStatic: Bool
}

/// An error decoding one `ArrowMsg` into a chunk.
public struct ChunkError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Decodes `ArrowMsg`s into chunks. One per worker: it caches decoded schemas, so it is not Sendable.
public final class ChunkDecoder {
    public init() {}
    public func decode(_ msg: ArrowMsg) throws(ChunkError) -> Chunk {
        throw ChunkError("chunk decoding not implemented yet")
    }
}
