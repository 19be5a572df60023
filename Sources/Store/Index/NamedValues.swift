/// Names mapped to positions in an array of values, looked up by a guessed position first: the
/// chunks of a recording list their timelines and components in the same order every time, so an
/// insert usually confirms the guess with a string comparison (identical strings compare by their
/// bits) instead of hashing the name. Values are never removed (an emptied one stays, empty).
struct NamedValues<Value> {
    private(set) var names: [String] = []
    /// Settable in place (never reordered: a position stays valid while the collection lives).
    var values: [Value] = []
    private var positions: [String: Int] = [:]

    /// The position of `name` (created with `make` when absent), trying `guess` first.
    mutating func position(of name: String, guess: Int, make: () -> Value) -> Int {
        if let found = position(of: name, guess: guess) { return found }
        names.append(name)
        values.append(make())
        positions[name] = values.count - 1
        return values.count - 1
    }

    /// The position of `name`, trying `guess` first.
    @inline(__always)
    func position(of name: String, guess: Int) -> Int? {
        if guess >= 0 && guess < names.count && names[guess] == name { return guess }
        return positions[name]
    }

    subscript(name: String) -> Value? { position(of: name, guess: 0).map { values[$0] } }

    /// The value of `name`, trying position `guess` first.
    @inline(__always)
    func value(of name: String, guess: Int) -> Value? { position(of: name, guess: guess).map { values[$0] } }

    /// Runs `body` on the value of `name` (created with `make` when absent), in place.
    @inline(__always)
    mutating func modify(
        _ name: String, guess: Int, make: () -> Value, _ body: (inout Value) -> Void
    ) {
        let p: Int
        if let found = position(of: name, guess: guess) {
            p = found
        } else {
            p = values.count
            names.append(name)
            values.append(make())
            positions[name] = p
        }
        body(&values[p])
    }

    /// Runs `body` on the value of `name` in place, if present.
    mutating func modifyIfPresent(_ name: String, guess: Int, _ body: (inout Value) -> Void) {
        guard let p = position(of: name, guess: guess) else { return }
        body(&values[p])
    }
}
