import Testing
@testable import Fleet

@Suite struct GroupPlannerTests {
    @Test func groupsSplitAtCapacityAndStaySticky() {
        var p = GroupPlanner(capacity: 2)
        #expect(p.group(for: 1, key: "a") == "a#0")
        #expect(p.group(for: 2, key: "a") == "a#0")
        #expect(p.group(for: 3, key: "a") == "a#1")
        #expect(p.group(for: 4, key: "b") == "b#0")
        #expect(p.group(for: 1, key: "a") == "a#0", "a member keeps its group")
        p.remove(2)
        #expect(p.group(for: 5, key: "a") == "a#0", "the freed place is reused")
        #expect(p.groupCount == 3)
    }

    @Test func theConnectionCapRefusesANewGroupButFillsExistingOnes() {
        var p = GroupPlanner(capacity: 2, maxGroups: 2)
        #expect(p.group(for: 1, key: "a") == "a#0")
        #expect(p.group(for: 2, key: "b") == "b#0")
        #expect(p.group(for: 3, key: "c") == nil, "a third connection would exceed the cap")
        #expect(p.group(for: 4, key: "a") == "a#0", "room in an existing group is still used")
        #expect(p.group(for: 5, key: "a") == nil, "a#0 is full and a#1 would be a third connection")
        p.remove(2)
        #expect(p.size(of: "b#0") == 0)
        #expect(p.group(for: 3, key: "c") == "c#0", "the emptied group's connection is free again")
    }

    @Test func aMailboxMovingServersLeavesItsOldGroup() {
        var p = GroupPlanner(capacity: 200, maxGroups: 1)
        #expect(p.group(for: 1, key: "a") == "a#0")
        #expect(p.group(for: 1, key: "b") == "b#0", "its only group emptied, so the cap allows the new one")
        #expect(p.size(of: "a#0") == 0)
    }
}
