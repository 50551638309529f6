import Testing
@testable import Simulator

/// What gromox's streams say about mailbox activity, who may open them, and how they end.
@Suite struct GromoxStreamingTests {
    let mailbox = "user1@tenant1.example"
    let other = "user2@tenant1.example"

    func open(_ sim: SimFixture, _ ids: [String], as impersonated: String) async throws -> RawStream {
        let stream = try await sim.stream(Soap.getStreamingEvents(ids, impersonate: impersonated))
        _ = try await stream.readHead()
        return stream
    }

    @Test func aFolderSubscriptionHearsOnlyTheFolderForReadMoveAndDelete() async throws {
        try await SimFixture.with({ $0.dialect = .gromox; $0.itemsPerMailbox = 0 }) { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await open(sim, [id], as: mailbox)
            #expect(try await stream.message().status == "OK")
            let items = try sim.world.deliver(mailbox: mailbox, count: 2)
            let delivered = try await stream.message()
            #expect(delivered.events == ["CreatedEvent(Item)", "ModifiedEvent(Folder)", "NewMailEvent(Item)",
                                         "CreatedEvent(Item)", "ModifiedEvent(Folder)", "NewMailEvent(Item)"])
            try sim.world.setRead(itemId: items[0], true)
            let read = try await stream.message()
            #expect(read.events == Array(repeating: "ModifiedEvent(Folder)", count: 3))
            // The first still has the old unread count, as gromox's does.
            #expect(read.text.components(separatedBy: "<t:UnreadCount>").dropFirst().map { $0.prefix(1) } == ["2", "1", "1"])
            try sim.world.moveItem(itemId: items[0], toFolder: "Projects")
            #expect(try await stream.message().events == ["ModifiedEvent(Folder)"])
            try sim.world.deleteItem(itemId: items[1], hard: true)
            let deleted = try await stream.message()
            #expect(deleted.events == ["ModifiedEvent(Folder)"])
            #expect(!deleted.text.contains("ChangeKey"))
            await stream.close()
        }
    }

    @Test func allFoldersHearsTheItemsToo() async throws {
        try await SimFixture.with({ $0.dialect = .gromox; $0.itemsPerMailbox = 0 }) { sim in
            let id = try #require(Soap.subscriptionId(try await sim.ews(Soap.subscribeAllFolders(mailbox)).body))
            let stream = try await open(sim, [id], as: mailbox)
            _ = try await stream.message()
            let items = try sim.world.deliver(mailbox: mailbox, count: 2)
            #expect(try await stream.message().events == ["CreatedEvent(Item)", "ModifiedEvent(Folder)", "NewMailEvent(Item)",
                                                        "CreatedEvent(Item)", "ModifiedEvent(Folder)", "NewMailEvent(Item)"])
            try sim.world.setRead(itemId: items[0], true)
            #expect(try await stream.message().events
                    == Array(repeating: ["ModifiedEvent(Item)", "ModifiedEvent(Folder)"], count: 3).flatMap { $0 })
            try sim.world.moveItem(itemId: items[0], toFolder: "Projects")
            #expect(try await stream.message().events == ["MovedEvent(Item)", "ModifiedEvent(Folder)", "ModifiedEvent(Folder)"])
            try sim.world.deleteItem(itemId: items[1], hard: true)
            #expect(try await stream.message().events == ["DeletedEvent(Item)", "ModifiedEvent(Folder)"])
            await stream.close()
        }
    }

    @Test func notificationsCarryMoreEventsFiftyAtATime() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await open(sim, [id], as: mailbox)
            let opened = try await stream.message()
            #expect(opened.text.contains("<m:Notifications/><m:ErrorSubscriptionIds/><m:ConnectionStatus>OK</m:ConnectionStatus>"))
            _ = try sim.world.deliver(mailbox: mailbox, count: 20)  // 60 events
            let first = try await stream.message()
            #expect(first.events.count == 50 && first.moreEvents == ["true"])
            #expect(first.text.contains("<m:ErrorSubscriptionIds/>") && first.status == "OK")
            let second = try await stream.message()
            #expect(second.events.count == 10 && second.moreEvents == ["false"])
            await stream.close()
        }
    }

    /// 05c of the capture: impersonating user2, naming user2's and user1's subscriptions.
    @Test func aStreamRefusesSubscriptionsOfAnotherEffectiveUser() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (mine, _) = try await sim.subscribe(other)
            let (theirs, _) = try await sim.subscribe(mailbox)
            let stream = try await open(sim, [mine, theirs], as: other)
            let refused = try await stream.message()
            #expect(refused.responseClass == "Error" && refused.code == "ErrorInvalidSubscription")
            #expect(Soap.unqualifiedErrorIds(refused.node) == [theirs])
            #expect(refused.text.contains("<m:ErrorSubscriptionIds><SubscriptionId>\(theirs)</SubscriptionId></m:ErrorSubscriptionIds>"))
            #expect(refused.status == "Closed")
            // Yet the stream goes on for the good one, repeating the refusal once.
            _ = try sim.world.deliver(mailbox: other)
            let next = try await stream.message()
            #expect(next.responseClass == "Error" && Soap.unqualifiedErrorIds(next.node) == [theirs])
            #expect(next.notifications.map(\.0) == [mine] && next.status == "OK")
            _ = try sim.world.deliver(mailbox: other)
            let clean = try await stream.message()
            #expect(clean.responseClass == "Success" && clean.text.contains("<m:ErrorSubscriptionIds/>"))
            await stream.close()
        }
    }

    @Test func exchangeLetsOneServiceAccountCarryImpersonatedMailboxesTogether() async throws {
        try await SimFixture.with { sim in
            let sameServer = "user3@tenant1.example"  // user1's mailbox server, so no proxy refusal
            let (mine, _) = try await sim.subscribe(sameServer)
            let (theirs, _) = try await sim.subscribe(mailbox)
            let stream = try await open(sim, [mine, theirs], as: sameServer)
            let opened = try await stream.message()
            #expect(opened.status == "OK" && opened.responseClass == "Success")
            _ = try sim.world.deliver(mailbox: mailbox)
            #expect(try await stream.message().notifications.map(\.0) == [theirs])
            await stream.close()
        }
    }

    @Test func withoutImpersonationTheCallerOwnsItsSubscriptions() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let id = try #require(Soap.subscriptionId(try await sim.ews(
                Soap.subscribeWithoutImpersonation(folders: Soap.delegateFolder(mailbox))).body))
            let stream = try await sim.stream(Soap.getStreamingEvents([id]))
            _ = try await stream.readHead()
            #expect(try await stream.message().status == "OK")
            let impersonating = try await open(sim, [id], as: mailbox)
            #expect(try await impersonating.message().code == "ErrorInvalidSubscription")
            await stream.close()
            await impersonating.close()
        }
    }

    /// 08a/08b of the capture: the first connection just says goodbye.
    @Test func aSecondConnectionClosesTheFirstOutright() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let first = try await open(sim, [id], as: mailbox)
            _ = try await first.message()
            let second = try await open(sim, [id], as: mailbox)
            #expect(try await second.message().status == "OK")
            let goodbye = try await first.message()
            #expect(goodbye.text == GromoxCaptures.goodbye)
            #expect(await first.nextEnvelope() == nil)
            _ = try sim.world.deliver(mailbox: mailbox)
            #expect(try await second.message().notifications.map(\.0) == [id])
            await second.close()
        }
    }

    @Test func anUnsubscribedIdIsReportedInvalidAndTheLastOneCloses() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await open(sim, [id], as: mailbox)
            _ = try await stream.message()
            let answer = try await sim.ews(Soap.envelope("<m:Unsubscribe><m:SubscriptionId>\(id)</m:SubscriptionId></m:Unsubscribe>",
                                                         impersonate: mailbox))
            #expect(Soap.code(try Soap.messages(answer.body)[0]) == "NoError")
            let gone = try await stream.message()
            #expect(gone.code == "ErrorInvalidSubscription" && Soap.unqualifiedErrorIds(gone.node) == [id])
            #expect(gone.status == "Closed")
            #expect(try await stream.message().text == GromoxCaptures.goodbye)
            #expect(await stream.nextEnvelope() == nil)
        }
    }
}
