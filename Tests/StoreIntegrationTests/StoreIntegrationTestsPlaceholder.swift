import Testing
@testable import Store

@Test func StoreIntegrationTestsModuleLoads() { #expect(Bool(true)) }
