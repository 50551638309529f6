import Testing
@testable import EWS

@Test func EWSTestsModuleLoads() { #expect(Bool(true)) }
