import RRD

/// A chunk id: a 128-bit TUID (`rerun:id`, `chunk_` + 32 hex digits as text).
public typealias ChunkId = Tuid

/// A row id: a 128-bit TUID, stored big-endian (time, then counter) in the row-id column.
public typealias RowId = Tuid
