// The umbrella module: `import StoreIngest` brings every public module of the package into scope
// (MemberImportVisibility needs the module that declares a member, and the README's example uses
// members of `Ingestion`, `RRD`, `Store` and `Chunks`). Each module stays importable on its own.
@_exported import ArrowIPC
@_exported import Chunks
@_exported import IngestCore
@_exported import Ingestion
@_exported import RRD
@_exported import Store
@_exported import Dataframe
@_exported import Parquet
