#if LIVE_SERVER
@preconcurrency import Glibc
import IngestCore
import IngestServer
import Ingestion

/// `ingest serve`'s live figures on stderr: a progress line redrawn in place on a terminal (every
/// half second), plain lines every 5 s otherwise. Rates are over the time since the previous line.
final class LiveDisplay {
    enum Mode { case bar, lines, off }

    let mode: Mode
    /// Time between two lines, in nanoseconds.
    let interval: UInt64
    private let write: (String) -> Void
    private var last: (at: UInt64, messages: UInt64, bytes: UInt64)?
    private var drewBar = false

    /// `mode` nil: a progress line when stderr is a terminal, plain lines otherwise.
    init(mode: Mode? = nil, write: ((String) -> Void)? = nil) {
        let mode = mode ?? (isatty(2) == 1 ? .bar : .lines)
        self.mode = mode
        interval = mode == .bar ? 500_000_000 : 5_000_000_000
        self.write = write ?? { text in
            var t = text
            t.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
        }
    }

    /// The line for these snapshots (and the rates since the previous call).
    func line(server: ServerStatistics, hub: HubStatistics) -> String {
        let now = MonotonicClock.now()
        var rate = 0.0
        var mbps = 0.0
        if let last, now > last.at {
            let secs = Double(now - last.at) / 1e9
            rate = Double(server.messages &- last.messages) / secs
            mbps = Double(server.bytes &- last.bytes) / 1e6 / secs
        }
        last = (now, server.messages, server.bytes)
        let clients = server.connections.filter { $0.openCalls > 0 }.count
        let deepest = hub.stores.map(\.queuedMessages).max() ?? 0
        return "clients \(clients) (\(server.openCalls) calls)  stores \(hub.stores.count)  "
            + "\(Int(rate.rounded())) msg/s  \(JSONText.fixed(mbps, digits: 1)) MB/s  "
            + "queued \(hub.queuedMessages) msg / \(JSONText.fixed(Double(hub.queuedBytes) / 1e6, digits: 1)) MB "
            + "(deepest \(deepest))  in transit \(server.channelMessages)  "
            + "total \(server.messages) msg, \(JSONText.fixed(Double(server.bytes) / 1e6, digits: 1)) MB"
    }

    /// Shows the figures (the caller paces calls by ``interval``); `final` ends a progress line.
    func show(server: ServerStatistics, hub: HubStatistics, final: Bool) {
        switch mode {
        case .off:
            return
        case .bar:
            write("\r\u{1B}[2K" + line(server: server, hub: hub) + (final ? "\n" : ""))
            drewBar = !final
        case .lines:
            write("serve: " + line(server: server, hub: hub) + (final ? " (stopping)" : "") + "\n")
        }
    }
}
#endif
