import Testing
@testable import Fleet

@Test func FleetTestsModuleLoads() { #expect(Bool(true)) }
