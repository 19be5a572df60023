import IngestCore

/// Time for the replay: monotonic nanoseconds and sleeping (injectable, so tests check schedules
/// without waiting).
public protocol ReplayClock: Sendable {
    /// Monotonic nanoseconds.
    func now() -> UInt64
    /// Blocks the calling thread for `nanoseconds`.
    func sleep(nanoseconds: UInt64)
}

/// The real clock: `CLOCK_MONOTONIC` and `nanosleep`.
public struct SystemReplayClock: ReplayClock {
    /// The real clock.
    public init() {}
    /// `CLOCK_MONOTONIC` in nanoseconds.
    public func now() -> UInt64 { MonotonicClock.now() }
    /// `nanosleep`, resumed after signals until the time has passed.
    public func sleep(nanoseconds: UInt64) { MonotonicClock.pause(nanoseconds: nanoseconds) }
}

/// How transient read errors are retried: up to `attempts` retries, waiting `initialDelay`,
/// then twice as long each time, never more than `maxDelay`.
public struct ReplayRetryPolicy: Sendable, Hashable {
    /// Retries after the first failure of one read (0: fail at once).
    public var attempts: Int
    /// Wait before the first retry.
    public var initialDelay: Duration
    /// Longest wait.
    public var maxDelay: Duration

    /// Defaults: 5 retries, 100 ms doubling up to 5 s.
    public init(attempts: Int = 5, initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5)) {
        self.attempts = max(0, attempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait before retry `n` (1-based): `min(initialDelay · 2^(n-1), maxDelay)`.
    public func delay(beforeRetry n: Int) -> Duration {
        var d = initialDelay
        var i = 1
        while i < n && d < maxDelay {
            d = d * 2
            i += 1
        }
        return min(d, maxDelay)
    }
}

extension Duration {
    /// Whole nanoseconds (negative durations give 0).
    var nanosecondsClamped: UInt64 {
        let (s, a) = components
        if s < 0 { return 0 }
        return UInt64(s) &* 1_000_000_000 &+ UInt64(a / 1_000_000_000)
    }
}
