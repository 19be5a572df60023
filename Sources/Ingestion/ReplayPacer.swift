import Chunks
import RRD

/// Spaces out one file's messages for ``ReplayPace``: by each chunk's smallest `log_time`, or at a fixed rate.
struct ReplayPacer {
    let pace: ReplayPace
    let clock: any ReplayClock
    /// Wall clock and `log_time` of the first timed message.
    private var origin: (wall: UInt64, logTime: Int64)?
    /// The latest `log_time` sent.
    private var latest = Int64.min
    private var sent: UInt64 = 0
    private var startWall: UInt64?
    /// Decodes chunks to find their `log_time` (only when pacing by recorded time).
    private let decoder = ChunkDecoder()

    init(pace: ReplayPace, clock: any ReplayClock) {
        self.pace = pace
        self.clock = clock
    }

    /// The smallest `log_time` of a message, if it is an `ArrowMsg` whose chunk has that timeline.
    func logTime(of message: Message) -> Int64? {
        guard case .arrowMsg(let a) = message, let chunk = try? decoder.decode(a) else { return nil }
        return chunk.timeline(named: "log_time")?.min
    }

    /// How long `message` must wait from now (nanoseconds), updating the pacing state as if it was sent.
    mutating func delay(for message: Message) -> UInt64 {
        let now = clock.now()
        switch pace {
        case .messagesPerSecond(let rate):
            let start = startWall ?? now
            startWall = start
            guard rate > 0 else { return 0 }
            let due = start &+ UInt64(Double(sent) * 1e9 / rate)
            sent += 1
            return due > now ? due - now : 0
        case .recorded:
            guard let t = logTime(of: message) else { return 0 }
            guard let origin else {
                self.origin = (now, t)
                latest = t
                return 0
            }
            guard t > latest else { return 0 }  // earlier than something already sent: at once
            latest = t
            let due = origin.wall &+ UInt64(t - origin.logTime)
            return due > now ? due - now : 0
        }
    }

    /// Blocks until `message` is due (a cancellation is noticed within 100 ms on the real clock).
    mutating func wait(for message: Message, cancellation: ReplayCancellation) {
        ReplayPipeline.sleep(delay(for: message), clock: clock, cancellation: cancellation)
    }
}
