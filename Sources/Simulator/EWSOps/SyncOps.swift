/// SyncFolderItems and SyncFolderHierarchy.
enum SyncOps {
    static func syncFolderItems(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let world = context.world
        let shape = ItemXML.shape(operation.child(NS.messages, "ItemShape"))
        let folderNode = EWSContext.folderIdNodes(operation.child(NS.messages, "SyncFolderId")).first
        let state = operation.child(NS.messages, "SyncState")?.trimmedText
        let maxChanges = Int(operation.child(NS.messages, "MaxChangesReturned")?.trimmedText ?? "") ?? 0
        // gromox 3.10 does not implement Ignore (its request structure has the element commented
        // out): it reports ignored items like any other.
        let ignore = context.dialect == .gromox ? []
            : Set(operation.child(NS.messages, "Ignore")?.children(NS.types, "ItemId").compactMap { $0.attribute("Id") } ?? [])
        guard (1...512).contains(maxChanges) else {
            // MaxSyncChangesReturnedType is 1..512 in the schema (see ConnectionTimeout).
            return EWSService.schemaFault("The 'MaxChangesReturned' element is invalid - the value must be between 1 and 512.")
        }
        let body: String = world.lock.withLock {
            EWSEnvelope.response("SyncFolderItems", for: context) { w in
                do throws(EWSCodeError) {
                    guard let folderNode else { throw EWSCodeError.folderNotFound }
                    let (mailbox, folder): (Mailbox, Folder)
                    do throws(EWSCodeError) { (mailbox, folder) = try context.resolveFolder(folderNode) } catch {
                        throw error.code == "ErrorFolderNotFound"
                            ? EWSCodeError(code: "ErrorSyncFolderNotFound", message: "The specified folder could not be found in the store.")
                            : error
                    }
                    // Search folders cannot be synced (fact sheet §5.2: use FindItem).
                    guard folder.search == nil else {
                        throw EWSCodeError(code: "ErrorInvalidOperation", message: "SyncFolderItems is not supported for search folders.")
                    }
                    let result: SimWorld.ItemSyncResult
                    do {
                        result = try world.syncItems(mailbox, folder, state: state, maxChanges: maxChanges, ignore: ignore)
                    } catch {
                        EWSEnvelope.message(&w, "SyncFolderItems", error: ("ErrorInvalidSyncStateData",
                            "Synchronization state data is corrupt or otherwise invalid.")) { w in
                            w.empty("m:SyncState")
                            w.element("m:IncludesLastItemInRange", "true")
                        }
                        return
                    }
                    EWSEnvelope.message(&w, "SyncFolderItems") { w in
                        w.element("m:SyncState", result.syncState)
                        w.element("m:IncludesLastItemInRange", result.includesLastItemInRange ? "true" : "false")
                        w.element("m:Changes") { w in
                            for change in result.changes { writeChange(&w, world, mailbox, change, shape, context.dialect) }
                        }
                    }
                } catch {
                    // gromox always writes its (empty) change list, errors included.
                    EWSEnvelope.message(&w, "SyncFolderItems", error: (error.code, error.message)) { w in
                        if context.dialect == .gromox { w.empty("m:Changes") }
                    }
                }
            }
        }
        return .xml(.ok, body)
    }

    private static func writeChange(_ w: inout XMLWriter, _ world: SimWorld, _ mailbox: Mailbox, _ change: ItemChange,
                                    _ shape: ItemXML.Shape, _ dialect: SimDialect) {
        switch change.kind {
        case .readFlag where dialect == .gromox:
            // gromox reports a read-state change as an update of the item, with its new ChangeKey.
            w.element("t:Update") { w in ItemXML.writeItem(&w, world: world, mailbox: mailbox, item: change.item!, shape: shape) }
        case .create, .update:
            let name = change.kind == .create ? "t:Create" : "t:Update"
            w.element(name) { w in ItemXML.writeItem(&w, world: world, mailbox: mailbox, item: change.item!, shape: shape) }
        case .delete:
            w.element("t:Delete") { w in w.empty("t:ItemId", ["Id": change.itemId]) }
        case .readFlag:
            w.element("t:ReadFlagChange") { w in
                w.empty("t:ItemId", ["Id": change.itemId, "ChangeKey": change.changeKey ?? ""])
                w.element("t:IsRead", change.isRead ? "true" : "false")
            }
        case .initialReadState:
            w.element("t:ReadFlagChange") { w in
                w.empty("t:ItemId", ["Id": change.itemId])
                w.element("t:IsRead", change.isRead ? "true" : "false")
            }
        }
    }

    static func syncFolderHierarchy(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let world = context.world
        let folderShape = FolderShapeWriter(operation.child(NS.messages, "FolderShape"), dialect: context.dialect)
        let folderNode = EWSContext.folderIdNodes(operation.child(NS.messages, "SyncFolderId")).first
        let state = operation.child(NS.messages, "SyncState")?.trimmedText
        let body: String = world.lock.withLock {
            EWSEnvelope.response("SyncFolderHierarchy", for: context) { w in
                do throws(EWSCodeError) {
                    let mailbox: Mailbox
                    var root: Folder?
                    if let folderNode {
                        (mailbox, root) = try context.resolveFolder(folderNode)
                    } else {
                        mailbox = try context.defaultMailbox()
                        try context.checkAccess(mailbox)
                    }
                    guard let result = try? world.syncHierarchy(mailbox, root: root, state: state) else {
                        EWSEnvelope.message(&w, "SyncFolderHierarchy", error: ("ErrorInvalidSyncStateData",
                            "Synchronization state data is corrupt or otherwise invalid.")) { w in
                            w.empty("m:SyncState")
                            w.element("m:IncludesLastFolderInRange", "true")
                        }
                        return
                    }
                    EWSEnvelope.message(&w, "SyncFolderHierarchy") { w in
                        w.element("m:SyncState", result.syncState)
                        w.element("m:IncludesLastFolderInRange", "true")
                        w.element("m:Changes") { w in
                            for change in result.changes {
                                guard let folder = change.folder else {
                                    w.element("t:Delete") { w in w.empty("t:FolderId", ["Id": change.deletedId]) }
                                    continue
                                }
                                w.element(change.kind == .create ? "t:Create" : "t:Update") { w in
                                    folderShape.write(&w, world: world, mailbox: mailbox, folder: folder)
                                }
                            }
                        }
                    }
                } catch {
                    EWSEnvelope.message(&w, "SyncFolderHierarchy", error: (error.code, error.message))
                }
            }
        }
        return .xml(.ok, body)
    }
}
