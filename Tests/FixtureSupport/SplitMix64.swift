/// SplitMix64 (Steele, Lea and Flood's generator): a fixed seed gives the same sequence on every run and
/// platform, so a seeded test (damage variants, kill points, property tests) can be replayed from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state: the seed, advanced by the golden-ratio increment per value.
    public var state: UInt64

    /// A generator starting at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 pseudo-random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<n` (`n > 0`; the modulo bias is negligible for the small `n` tests use).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
