import FixtureSupport
import StoreIngest  // the example's one import (the umbrella module)
import Testing

/// The README's "API in five minutes" example, compiled and run as written (between the markers),
/// with `import StoreIngest` as its only import of the package (FixtureSupport finds the fixture).
@Suite("README quick start")
struct ReadmeQuickStartTests {
    @Test("read a recording into a hub, drain it, query a store")
    func quickStart() throws {
        let path = Fixtures.rrdPath("scalars_sequence.rrd")
        var chunksSeen = 0
        var firstItems = 0
        var answer: String?
        // README quick start begins
        let hub = StoreHub()  // one EntityDb per store id; 2000-slot queues; workers start on first submit
        var reader = try RRDReader(path: path)  // a file, "-" for stdin, or a .zst; read incrementally
        while let event = reader.next() {
            switch event {
            case .message(let message):
                try hub.submit(message, source: path)  // blocks while that store's queue is full
            case .error(let error):
                hub.report(error)  // framing damage: the hub's per-source error stream, in order
            case .streamHeader, .streamFooter:
                break
            }
        }
        hub.flush()  // returns once everything submitted so far has come out
        hub.drain(timeBudget: .milliseconds(10)) { store, output in  // a viewer drains once per frame
            if output.storeWasEmpty { firstItems += 1 }  // the store just became non-empty
            switch output.event {
            case .storeInfo(let info): _ = info.info.storeId
            case .chunk(let chunk): chunksSeen += 1; _ = chunk.entityPath
            case .activation(let command): _ = command.makeDefault
            case .error(let error): print(error)  // in its place, with source and byte offset
            }
        }
        while let error = hub.pollSourceError() { print(error.error) }
        for store in hub.allStores {  // queries are safe while ingestion goes on
            let hit = store.chunkStore.latestAt(
                entity: "/plot/sin", component: "Scalars:scalars", timeline: "frame", at: 10)
            if let hit { answer = "t=\(hit.time!) row=\(hit.rowId) value=\(hit.jsonValue)" }
        }
        hub.shutdown(drain: true)  // stops and joins every worker
        // README quick start ends
        #expect(chunksSeen == 2)
        #expect(firstItems == 1)
        #expect(answer?.hasPrefix("t=10 row=") == true)
        #expect(answer?.hasSuffix("value=[0.9986987395834886]") == true)
    }
}
