import IngestCore
import IngestTestSupport
import Ingestion
import RRD
import Testing

/// The README's example, compiled and run as written (between the markers).
@Suite("README example")
struct ReadmeExampleTests {
    @Test("drain a hub from an async loop while another task submits")
    func drainWhileSubmitting() async throws {
        let stores = (0..<3).map { SyntheticMessages.storeId($0) }
        let messages = (0..<300).map { i in SyntheticMessages.arrow(stores[i % 3], offset: UInt64(i)) }
        var seen: [StoreId: [UInt64]] = [:]
        // README example begins
        let hub = StoreHub(configuration: IngestConfiguration(queueCapacity: 8))
        let producer = Task {
            for message in messages {
                try await hub.submitAsync(message, source: "live")  // suspends while a queue is full
            }
        }
        var received = 0
        for await item in hub.outputs {  // suspends until output is ready
            seen[item.store.storeId, default: []].append(item.output.sequence)
            received += 1
            if received == messages.count { break }
        }
        try await producer.value
        hub.shutdown(drain: true)
        // README example ends
        #expect(received == messages.count)
        for id in stores { #expect(seen[id] == Array(0..<100)) }
    }
}
