import IngestCore

/// Public constructors for arrays and batches built in memory (e.g. by concatenating chunks), rather
/// than read from an IPC stream. The caller vouches for the layout: these initialisers do not validate.
extension ArrowArray {
    /// An array over buffers of `storage` that the caller has filled with a valid layout for `type`
    /// (see the type's notes on which buffer `values` and `data` mean for each type).
    ///
    /// - Parameters:
    ///   - type: the array's Arrow type.
    ///   - length: the number of slots.
    ///   - nullCount: how many of them are null.
    ///   - storage: the memory holding every buffer of this array (children may use other storages).
    ///   - validity: the byte offset of the validity bitmap in `storage`, or nil when every slot is valid.
    ///   - values: the byte range of the values (or offsets) buffer.
    ///   - data: the byte range of the data buffer (binary/string bytes), empty when unused.
    ///   - children: the child arrays of nested types (list values, struct fields), empty otherwise.
    /// - Precondition: every range lies inside `storage`, and offsets index inside the children/data.
    public init(
        assembling type: ArrowType, length: Int, nullCount: Int, storage: ByteStorage, validity: Int?,
        values: Range<Int>, data: Range<Int>, children: [ArrowArray]
    ) {
        precondition(values.lowerBound >= 0 && values.upperBound <= storage.count, "values outside the storage")
        precondition(data.lowerBound >= 0 && data.upperBound <= storage.count, "data outside the storage")
        precondition(validity.map { $0 >= 0 && $0 + (length + 7) / 8 <= storage.count } ?? true, "validity outside")
        self.init(
            type: type, length: length, nullCount: nullCount, storage: storage, validity: validity ?? -1,
            values: values, data: data, children: children)
    }
}

extension ArrowRecordBatch {
    /// A batch assembled from arrays built in memory (`ArrowArray.init(assembling:…)`).
    /// `schemaID` should be negative so it never matches an id an ``ArrowStreamReader`` hands out.
    public init(assembling schema: ArrowSchema, schemaID: Int, length: Int, columns: [ArrowArray]) {
        self.init(
            fields: schema.fields, metadata: .decoded(schema.metadata), schemaID: schemaID, length: length,
            columns: columns, warnings: [])
    }
}

extension ArrowArray {
    /// Lends this array's own values and data buffers (not its children's) for the duration of `body`,
    /// for bulk copies; see the type's notes for what each buffer holds per type. Slot `i` of a
    /// fixed-width array of `w` bytes starts at `values[i * w]`.
    @inlinable
    public func withUnsafeBuffers<R, E: Error>(
        _ body: (_ values: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(
            UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + values, count: valuesCount),
            UnsafeRawBufferPointer(start: storage.unsafeBaseAddress + data, count: dataCount))
    }
}
