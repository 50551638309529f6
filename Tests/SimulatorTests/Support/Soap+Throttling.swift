import NIOHTTP1
@testable import Simulator

extension SimFixture {
    /// Sends an EWS request (service account) from a separate task, for requests a fault holds or
    /// delays; only Sendable values cross into the task.
    func sendLater(_ body: String, tenant: Int = 0) -> Task<RawHTTP.Response, any Error> {
        let (port, path, headers) = (self.port, ewsPath(tenant), headers(.service, tenant: tenant))
        return Task { try await RawHTTP.send(port: port, path: path, headers: headers, body: body) }
    }

    /// Holds the next SyncFolderItems of `smtp` and returns the task waiting for its answer.
    func holdOneSync(_ smtp: String) async throws -> Task<RawHTTP.Response, any Error> {
        var hold = SimFault(.holdSyncPage, scope: .mailbox(smtp))
        hold.page = 1
        try world.injectFault(hold)
        let task = sendLater(Soap.syncFolderItems(smtp))
        await world.waitUntilHeld()
        return task
    }
}

extension Soap {
    /// The `t:Value Name="name"` of a MessageXml anywhere in the response (fault or message form).
    static func messageXmlValue(_ xml: String, _ name: String) -> String? {
        guard let root = try? parse(xml) else { return nil }
        func search(_ node: SimXMLNode) -> String? {
            if node.localName == "Value", node.attribute("Name") == name { return node.trimmedText }
            for child in node.children { if let found = search(child) { return found } }
            return nil
        }
        return search(root)
    }

    static func resolveNames(_ mailbox: String) -> String {
        envelope("<m:ResolveNames ReturnFullContactData=\"false\"><m:UnresolvedEntry>\(mailbox)</m:UnresolvedEntry></m:ResolveNames>")
    }
}
