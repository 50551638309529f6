import EWS
import Foundation
import HTTP
import Store

/// The mailbox-level EWS operations of one tenant, over its `EWSClient`. Every call is routed
/// through the mailbox's affinity group (anchor + cookie), which `routeFor` supplies.
struct TenantEWS<C: Clock<Duration>>: SyncService where C.Instant: Sendable {
    let client: EWSClient<C>
    let routeFor: @Sendable (String) -> EWSClient<C>.Route
    /// Search folders' ids by mailbox and display name (see `SearchFolderIDs`).
    let searchFolders = SearchFolderIDs()

    /// A watched folder as EWS names it. Without impersonation the service account reaches the
    /// mailbox by delegate access, so a distinguished folder must name its mailbox.
    func folderID(_ name: String, mailbox: String) -> EWSFolderID {
        guard FolderNames.distinguished.contains(name) else { return .id(name) }
        return .distinguished(name, mailbox: client.endpoint.impersonation ? nil : mailbox)
    }

    func syncFolderItems(mailbox: String, folder: String, syncState: String?, maxChanges: Int,
                         readState: Bool = false, ignore: [String] = []) async throws -> SyncFolderItemsResponseMessage
    {
        let request = try SyncFolderItemsRequest(folder: folderID(folder, mailbox: mailbox), syncState: syncState,
                                                 ignore: ignore.map { EWSItemID(id: $0) }, maxChangesReturned: maxChanges,
                                                 additionalProperties: readState ? [.isRead] : [])
        guard case .syncFolderItems(let messages) = try await client.call(request, route: routeFor(mailbox)),
              let message = messages.first
        else { throw Self.malformed("SyncFolderItems") }
        return message
    }

    func getItems(mailbox: String, ids: [EWSItemID], fields: Set<ItemField> = Set(ItemField.defaultSet)) async throws
        -> [GetItemResponseMessage]
    {
        let request = try Self.getItemRequest(ids, fields: fields, version: client.endpoint.serverVersion)
        guard case .getItem(let messages) = try await client.call(request, route: routeFor(mailbox)),
              messages.count == ids.count
        else { throw Self.malformed("GetItem") }
        return messages
    }

    /// A body preview asks for the body as plain text, and where the server takes it, for no more
    /// than 1 KB of it (MaximumBodySize): the preview keeps 255 characters of that.
    static func getItemRequest(_ ids: [EWSItemID], fields: Set<ItemField>, version: EWSServerVersion) throws -> GetItemRequest {
        let extras = fields.subtracting(ItemField.defaultSet).sorted().compactMap(Self.property(for:))
        let preview = fields.contains(.bodyPreview)
        return try GetItemRequest(itemIDs: ids, additionalProperties: EWSItemProperty.summary + extras,
                                  bodyType: preview ? .text : nil,
                                  maximumBodySizeKB: preview && version.allowsMaximumBodySize ? 1 : nil)
    }

    static func property(for field: ItemField) -> EWSItemProperty? {
        switch field {
        case .subject: .subject
        case .sender: .sender
        case .receivedAt: .dateTimeReceived
        case .size: .size
        case .hasAttachments: .hasAttachments
        case .isRead: .isRead
        case .internetMessageID: .internetMessageID
        case .conversationID: .conversationID
        case .from: .from
        case .to: .toRecipients
        case .cc: .ccRecipients
        case .categories: .categories
        case .importance: .importance
        case .flagStatus: .flag
        case .bodyPreview: .body
        }
    }

    func findItems(mailbox: String, folder: String, fields: Set<ItemField>, restriction: EWSRestriction?,
                   order: FindItemRequest.Order, offset: Int, maxEntries: Int) async throws -> FindItemResponseMessage {
        // The summary and what a filter judges by; FindItem returns no body and no recipient lists.
        let extras = fields.subtracting(ItemField.defaultSet).subtracting([.bodyPreview, .to, .cc])
        let properties = EWSItemProperty.summary + extras.sorted().compactMap(Self.property(for:))
        let request = try FindItemRequest(folder: try await resolvedFolderID(folder, mailbox: mailbox),
                                          additionalProperties: properties, restriction: restriction, order: order,
                                          maxEntries: maxEntries, offset: offset)
        guard case .findItem(let messages) = try await client.call(request, route: routeFor(mailbox)),
              let message = messages.first
        else { throw Self.malformed("FindItem") }
        // A search folder deleted (and perhaps made again under its name): resolve it next time.
        if message.status.responseCode == "ErrorFolderNotFound", let name = FolderNames.searchFolderName(folder) {
            searchFolders.forget(mailbox: mailbox, name: name)
        }
        return message
    }

    func calendarView(mailbox: String, folder: String, window: CalendarWindow, maxEntries: Int) async throws
        -> FindItemResponseMessage
    {
        var request = try FindItemRequest(folder: folderID(folder, mailbox: mailbox), additionalProperties: [.uid, .calendarItemType],
                                          maxEntries: maxEntries)
        request.calendarView = window
        guard case .findItem(let messages) = try await client.call(request, route: routeFor(mailbox)),
              let message = messages.first
        else { throw Self.malformed("FindItem") }
        return message
    }

    func getCalendarItems(mailbox: String, ids: [EWSItemID], mastersOf: [String]) async throws -> [GetItemResponseMessage] {
        let request = try GetItemRequest(itemIDs: ids, additionalProperties: EWSItemProperty.calendar, mastersOf: mastersOf)
        guard case .getItem(let messages) = try await client.call(request, route: routeFor(mailbox)),
              messages.count == ids.count + mastersOf.count
        else { throw Self.malformed("GetItem") }
        return messages
    }

    func syncFolderHierarchy(mailbox: String, syncState: String?) async throws -> SyncFolderHierarchyResponseMessage {
        // Default shape: the folder class and display name decide what is synced and how it is shown.
        // FolderClass is named too: gromox's Default shape leaves it out, and then notes, journal
        // and sync-issue folders would look like mail folders.
        let request = SyncFolderHierarchyRequest(folder: folderID(FolderNames.hierarchyRoot, mailbox: mailbox),
                                                 syncState: syncState, shape: .default,
                                                 additionalProperties: ["folder:FolderClass"])
        guard case .syncFolderHierarchy(let messages) = try await client.call(request, route: routeFor(mailbox)),
              let message = messages.first
        else { throw Self.malformed("SyncFolderHierarchy") }
        return message
    }

    /// EWS ids of distinguished folders (one GetFolder, IdOnly) and of search folders (resolved by
    /// name, see `SearchFolderIDs`). A folder the mailbox does not have is left out; any other
    /// per-folder error fails the call.
    func folderIDs(mailbox: String, distinguished all: [String]) async throws -> [String: String] {
        var ids: [String: String] = [:]
        let names = all.filter { FolderNames.searchFolderName($0) == nil }
        for search in all where FolderNames.searchFolderName(search) != nil {
            do {
                if case .id(let id, _) = try await resolvedFolderID(search, mailbox: mailbox) { ids[search] = id }
            } catch let error as EWSCallError where error.decision.code == "ErrorFolderNotFound" {
                continue  // Left out, as a distinguished folder the mailbox does not have.
            }
        }
        guard !names.isEmpty else { return ids }
        let request = try GetFolderRequest(folders: names.map { folderID($0, mailbox: mailbox) })
        guard case .getFolder(let messages) = try await client.call(request, route: routeFor(mailbox)),
              messages.count == names.count
        else { throw Self.malformed("GetFolder") }
        for (name, message) in zip(names, messages) {
            guard message.status.isSuccess else {
                if message.status.responseCode == "ErrorFolderNotFound" { continue }
                throw EWSCallError(status: message.status)
            }
            if let folder = message.folders.first { ids[name] = folder.folderID.id }
        }
        return ids
    }

    /// Subscribes one mailbox; returns the subscription id and the affinity cookie, if the server set one.
    func subscribe(mailbox: String, watch: WatchMode) async throws -> (id: String, cookie: String?) {
        let scope: SubscribeRequest.Scope =
            switch watch {
            case .allFolders: .allFolders
            case .folders(let names): .folders(try await resolvedFolderIDs(names, mailbox: mailbox))
            }
        let route = routeFor(mailbox)
        guard case .subscribe(let messages) = try await client.call(try SubscribeRequest(scope: scope), route: route),
              let message = messages.first
        else { throw Self.malformed("Subscribe") }
        guard message.status.isSuccess, let id = message.subscriptionID else { throw EWSCallError(status: message.status) }
        return (id, route.cookies?.value(of: "X-BackEndOverrideCookie"))
    }

    /// A subscription's folders as EWS names them; search folders resolved afresh, so a subscribe
    /// (the start of every mailbox, and the answer to a folder gone) finds one made again.
    func resolvedFolderIDs(_ keys: [String], mailbox: String) async throws -> [EWSFolderID] {
        var ids: [EWSFolderID] = []
        for key in keys { ids.append(try await resolvedFolderID(key, mailbox: mailbox, fresh: true)) }
        return ids
    }

    func unsubscribe(mailbox: String, subscriptionID: String) async throws {
        let request = try UnsubscribeRequest(subscriptionID: subscriptionID)
        guard case .unsubscribe(let messages) = try await client.call(request, route: routeFor(mailbox)),
              let message = messages.first
        else { throw Self.malformed("Unsubscribe") }
        // Already gone is as good as unsubscribed.
        if !message.status.isSuccess, message.status.responseCode != "ErrorSubscriptionNotFound" {
            throw EWSCallError(status: message.status)
        }
    }

    static func malformed(_ operation: String) -> EWSCallError {
        .malformed("\(operation) response has no response message")
    }
}
