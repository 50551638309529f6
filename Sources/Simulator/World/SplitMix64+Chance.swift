import Support

extension SplitMix64 {
    /// ews-sim's generators start one step on from `--seed` (runs recorded before the generator
    /// moved to Support replay the same).
    init(simSeed seed: UInt64) { self.init(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }

    mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < probability
    }
}
