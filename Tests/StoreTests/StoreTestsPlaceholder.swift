import Testing
@testable import Store

@Test func StoreTestsModuleLoads() { #expect(Bool(true)) }
