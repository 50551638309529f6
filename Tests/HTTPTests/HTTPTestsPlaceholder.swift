import Testing
@testable import HTTP

@Test func HTTPTestsModuleLoads() { #expect(Bool(true)) }
