@preconcurrency import Glibc
import Ingestion

/// Renders ``ReplayProgress`` on stderr: a live one-line bar on a terminal, plain lines otherwise.
final class ProgressDisplay {
    enum Mode { case bar, lines, off }

    let mode: Mode
    private let write: (String) -> Void
    private var lastLineAt: UInt64 = 0
    private let lineInterval: UInt64
    private var drewBar = false

    /// `mode` nil: a bar when stderr is a terminal, plain lines otherwise.
    init(mode: Mode? = nil, lineIntervalNanoseconds: UInt64 = 2_000_000_000, write: ((String) -> Void)? = nil) {
        self.mode = mode ?? (isatty(2) == 1 ? .bar : .lines)
        self.lineInterval = lineIntervalNanoseconds
        self.write = write ?? { text in
            var t = text
            t.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
        }
    }

    static func megabytes(_ b: UInt64) -> String {
        let tenths = (b + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format2(s / 60 % 60)))m" }
        if s >= 60 { return "\(s / 60)m\(format2(s % 60))s" }
        return "\(s)s"
    }

    private static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// The figures shared by both modes.
    static func figures(_ p: ReplayProgress) -> (fraction: Double?, text: String) {
        let secs = Double(p.elapsedNanoseconds) / 1e9
        let rate = secs > 0 ? Double(p.messages) / secs : 0
        let mbps = secs > 0 ? Double(p.bytesRead) / 1e6 / secs : 0
        var fraction: Double?
        var bytes = megabytes(p.bytesRead)
        var eta = ""
        if p.bytesTotal > 0 {
            let f = min(1, Double(p.bytesRead) / Double(p.bytesTotal))
            fraction = f
            bytes += "/" + megabytes(p.bytesTotal)
            if f > 0 && f < 1 && !p.isFinal { eta = "  ETA " + duration(secs * (1 - f) / f) }
        }
        let failed = p.filesFailed > 0 ? " (\(p.filesFailed) failed)" : ""
        let text =
            "\(bytes)  files \(p.filesDone)/\(p.filesTotal)\(failed)  \(Int(rate.rounded())) msg/s  "
            + "\(Int((mbps * 10).rounded()) / 10).\(Int((mbps * 10).rounded()) % 10) MB/s\(eta)"
        return (fraction, text)
    }

    /// Shows `p` (plain lines only every `lineIntervalNanoseconds`, and always the final one).
    func show(_ p: ReplayProgress) {
        switch mode {
        case .off:
            return
        case .bar:
            let (fraction, text) = Self.figures(p)
            let width = 24
            let filled = Int(((fraction ?? 0) * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let percent = fraction.map { " \(Int(($0 * 100).rounded(.down)))%" } ?? ""
            write("\r\u{1B}[2K[\(bar)]\(percent)  \(text)" + (p.isFinal ? "\n" : ""))
            drewBar = !p.isFinal
        case .lines:
            guard p.isFinal || p.elapsedNanoseconds &- lastLineAt >= lineInterval else { return }
            lastLineAt = p.elapsedNanoseconds
            write("progress: " + Self.figures(p).text + (p.isFinal ? " (done)" : "") + "\n")
        }
    }

    /// Ends a bar left on screen (after an interruption) so later output starts on a fresh line.
    func finish() {
        if drewBar { write("\n") }
        drewBar = false
    }
}
