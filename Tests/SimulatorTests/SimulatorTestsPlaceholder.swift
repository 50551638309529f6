import Testing
@testable import Simulator

@Test func SimulatorTestsModuleLoads() { #expect(Bool(true)) }
