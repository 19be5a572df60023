import FixtureSupport
import Foundation
import Ingestion
import Testing

@testable import ingest

@Suite("ingest replay --compact / --memory-budget")
struct ReplayCompactTests {
    private func stores(_ args: [String]) throws -> [[String: Any]] {
        var out = ""
        let (_, status) = try ReplayCommand.arguments(["--json", "-q"] + args).execute(
            cancellation: ReplayCancellation(), output: { out += $0 })
        #expect(status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        return try #require(doc["stores"] as? [[String: Any]])
    }

    private func int(_ store: [String: Any], _ key: String) -> Int? { (store[key] as? NSNumber)?.intValue }

    @Test("--compact merges small chunks: the same chunks and rows received, fewer chunks held")
    func compact() throws {
        let path = Fixtures.rrdPath("many_small_chunks.rrd")
        let plain = try #require(try stores([path]).first)
        let compacted = try #require(try stores(["--compact", path]).first)
        #expect(int(plain, "chunks") == int(compacted, "chunks"))
        #expect(int(plain, "rows") == int(compacted, "rows"))
        #expect(int(plain, "chunks_in_store") == int(plain, "chunks"))
        let held = try #require(int(compacted, "chunks_in_store"))
        #expect(held > 0 && held < int(plain, "chunks")!)
    }

    @Test("--memory-budget drops whole temporal chunks until the store fits")
    func memoryBudget() throws {
        let path = Fixtures.rrdPath("many_small_chunks.rrd")
        let plain = try #require(try stores([path]).first)
        let budget = try #require(int(plain, "bytes")) / 4
        let limited = try #require(try stores(["--memory-budget", String(budget), path]).first)
        #expect(int(limited, "chunks") == int(plain, "chunks"))  // every chunk was received
        let held = try #require(int(limited, "chunks_in_store"))
        #expect(held > 0 && held < int(plain, "chunks")!)
        #expect(try #require(int(limited, "bytes")) <= budget)
    }
}
