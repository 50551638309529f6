import EWS
import Foundation
import NIOHTTP1
import Testing
@testable import Simulator

/// Cross-check with the project's codec: its requests must pass ews-sim's schema validation, and
/// its decoders must read ews-sim's responses. (The simulator shares no code with it; a failure
/// here means one of the two disagrees with Exchange.)
@Suite struct CodecCrossCheckTests {
    let mailbox = "user1@tenant1.example"
    let decoder = EWSResponseDecoder()

    func call(_ sim: SimFixture, _ request: some EWSOperationRequest, as operation: EWSOperation) async throws -> EWSResponse {
        let headers = EWSRequestHeaders(impersonation: .smtpAddress(mailbox))
        let response = try await sim.ews(request.envelopeString(headers: headers))
        #expect(response.status == 200, "\(operation): \(response.body.prefix(600))")
        return try decoder.decode(Data(response.body.utf8), as: operation)
    }

    @Test func codecRequestsAreAcceptedAndResponsesDecode() async throws {
        try await SimFixture.with { sim in
            // Autodiscover.
            let autodiscover = try GetUserSettingsRequest(mailboxes: [mailbox, "user2@tenant1.example"],
                                                          endpoint: sim.tenants[0].autodiscoverURL)
            let raw = try await RawHTTP.send(port: sim.port, path: "/t/tenant1/autodiscover/autodiscover.svc",
                                             headers: sim.headers(.service), body: autodiscover.envelopeString())
            guard case .getUserSettings(let settings) = try decoder.decode(Data(raw.body.utf8), as: .getUserSettings) else {
                Issue.record("not a GetUserSettings response")
                return
            }
            #expect(settings.userResponses.count == 2)
            #expect(settings.userResponses.allSatisfy { $0.groupingKey != nil })

            // Initial sync.
            guard case .syncFolderItems(let first) = try await call(sim, SyncFolderItemsRequest(folder: .distinguished("inbox")), as: .syncFolderItems)
            else { Issue.record("sync"); return }
            let state = try #require(first.first?.syncState)
            #expect(first.first?.changes.count == (try sim.world.items(mailbox: mailbox).count))

            // Subscribe and stream.
            guard case .subscribe(let subscribed) = try await call(
                sim, SubscribeRequest(scope: .folders([.distinguished("inbox")])), as: .subscribe),
                let id = subscribed.first?.subscriptionID else { Issue.record("subscribe"); return }
            let gse = try GetStreamingEventsRequest(subscriptionIDs: [id], connectionTimeoutMinutes: 1)
            let stream = try await sim.stream(gse.envelopeString(headers: EWSRequestHeaders(impersonation: .smtpAddress(mailbox))))
            _ = try await stream.readHead()
            let itemId = try sim.world.deliver(mailbox: mailbox)[0]
            let streamDecoder = StreamingEventDecoder()
            var envelopes: [StreamingEnvelope] = []
            var sawNewMail = false
            while !sawNewMail, let part = await stream.nextBodyPart() {
                envelopes += try streamDecoder.feed(part)
                sawNewMail = envelopes.contains { envelope in
                    guard case .notifications(let notifications) = envelope else { return false }
                    return notifications.contains { $0.subscriptionID == id && $0.events.contains { $0.kind == .newMail && $0.itemID?.id == itemId } }
                }
            }
            #expect(sawNewMail)
            #expect(envelopes.first == .heartbeat)
            sim.clock.advance(by: .seconds(60))
            while let part = await stream.nextBodyPart() { envelopes += try streamDecoder.feed(part) }
            try streamDecoder.finish()
            #expect(envelopes.last == .closed)

            // Incremental sync sees exactly the new item; GetItem fetches it by id and change key.
            guard case .syncFolderItems(let second) = try await call(
                sim, SyncFolderItemsRequest(folder: .distinguished("inbox"), syncState: state), as: .syncFolderItems)
            else { Issue.record("sync 2"); return }
            let changes = second.first?.changes ?? []
            #expect(changes.map(\.kind) == [.create])
            let change = try #require(changes.first)
            #expect(change.itemID.id == itemId)
            guard case .getItem(let items) = try await call(sim, GetItemRequest(itemIDs: [change.itemID]), as: .getItem) else {
                Issue.record("getitem")
                return
            }
            let truth = try #require(try sim.world.items(mailbox: mailbox).first { $0.itemId == itemId })
            #expect(items.first?.items.first?.subject == truth.subject)
            #expect(items.first?.items.first?.itemID.changeKey == truth.changeKey)
            #expect(items.first?.items.first?.isRead == false)

            guard case .getFolder(let folders) = try await call(
                sim, GetFolderRequest(folders: [.distinguished("inbox")], shape: .default), as: .getFolder) else {
                Issue.record("getfolder")
                return
            }
            #expect(folders.first?.folders.first?.displayName == "Inbox")
            guard case .syncFolderHierarchy(let hierarchy) = try await call(
                sim, SyncFolderHierarchyRequest(), as: .syncFolderHierarchy) else { Issue.record("hierarchy"); return }
            #expect((hierarchy.first?.changes.count ?? 0) >= 7)
            guard case .unsubscribe(let unsubscribed) = try await call(
                sim, UnsubscribeRequest(subscriptionID: id), as: .unsubscribe) else { Issue.record("unsubscribe"); return }
            #expect(unsubscribed.first?.status.isSuccess == true)
        }
    }
}
