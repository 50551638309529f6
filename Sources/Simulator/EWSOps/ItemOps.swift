/// GetItem, FindItem, GetFolder, ConvertId, ResolveNames.
enum ItemOps {
    /// One response message per requested id, in request order; failures do not stop the batch.
    static func getItem(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let world = context.world
        let shape = ItemXML.shape(operation.child(NS.messages, "ItemShape"))
        let bodyOptions = ItemXML.bodyOptions(operation.child(NS.messages, "ItemShape"), dialect: context.dialect)
        let ids = operation.child(NS.messages, "ItemIds")?.children.filter { $0.namespace == NS.types } ?? []
        let body: String = world.lock.withLock {
            EWSEnvelope.response("GetItem", for: context) { w in
                for node in ids {
                    do throws(EWSCodeError) {
                        if let entry = try CalendarOps.resolve(context, node) {
                            EWSEnvelope.message(&w, "GetItem") { w in
                                w.element("m:Items") { w in CalendarOps.write(&w, entry, shape: shape) }
                            }
                            continue
                        }
                        guard node.localName == "ItemId" else { throw EWSCodeError.itemNotFound }
                        let (mailbox, item) = try context.resolveItem(node)
                        EWSEnvelope.message(&w, "GetItem") { w in
                            w.element("m:Items") { w in ItemXML.writeItem(&w, world: world, mailbox: mailbox, item: item, shape: shape,
                                                                                body: bodyOptions) }
                        }
                    } catch {
                        EWSEnvelope.message(&w, "GetItem", error: (error.code, error.message)) { w in w.empty("m:Items") }
                    }
                }
            }
        }
        return .xml(.ok, body)
    }

    /// Shallow traversal, paged with IndexedPageItemView: newest first, or by received or last
    /// modified time in the order a SortOrder asks; restricted by a Restriction (TotalItemsInView
    /// counts the restricted view). A search folder lists its results.
    static func findItem(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        if let view = operation.child(NS.messages, "CalendarView") { return CalendarOps.findItem(context, operation, view: view) }
        let world = context.world
        let shape = ItemXML.shape(operation.child(NS.messages, "ItemShape"))
        let view = operation.child(NS.messages, "IndexedPageItemView")
        // EWSFindCountLimit: at most 1000 items a page, 250 under a restriction; more is cut, not refused.
        let countLimit = operation.child(NS.messages, "Restriction") == nil ? 1000 : 250
        let maxEntries = min(countLimit, Int(view?.attribute("MaxEntriesReturned") ?? "") ?? countLimit)
        let offset = max(0, Int(view?.attribute("Offset") ?? "") ?? 0)
        let fromEnd = view?.attribute("BasePoint") == "End"
        let folders = EWSContext.folderIdNodes(operation.child(NS.messages, "ParentFolderIds"))
        let traversal = operation.attribute("Traversal") ?? "Shallow"
        let restrictionNode = operation.child(NS.messages, "Restriction")?.children.first { $0.namespace == NS.types }
        let order = operation.child(NS.messages, "SortOrder")?.child(NS.types, "FieldOrder")
        let ascending = order?.attribute("Order") == "Ascending"
        let byModified = order?.child(NS.types, "FieldURI")?.attribute("FieldURI") == "item:LastModifiedTime"
        let body: String = world.lock.withLock {
            EWSEnvelope.response("FindItem", for: context) { w in
                for node in folders {
                    do throws(EWSCodeError) {
                        guard traversal == "Shallow" else {
                            throw EWSCodeError(code: "ErrorInvalidOperation", message: "Only shallow traversal is supported.")
                        }
                        let restriction = try restrictionNode.map { (n) throws(EWSCodeError) in try SimRestriction(n) }
                        let (mailbox, folder) = try context.resolveFolder(node)
                        // LastModifiedTime follows the mailbox's change sequence (the clock only moves on).
                        let items = world.contents(mailbox, folder)
                            .filter { restriction?.matches(mailbox, $0) ?? true }
                            .sorted { a, b in
                                let (x, y) = ascending ? (a, b) : (b, a)
                                return byModified ? (x.changeSequence, x.key) < (y.changeSequence, y.key)
                                    : (x.received, x.key) < (y.received, y.key)
                            }
                        let total = items.count
                        let start = fromEnd ? max(0, total - offset - maxEntries) : min(offset, total)
                        let end = fromEnd ? max(0, total - offset) : min(total, start + maxEntries)
                        let page = items[start..<end]
                        let includesLast = fromEnd ? start == 0 : end >= total
                        EWSEnvelope.message(&w, "FindItem") { w in
                            w.element("m:RootFolder", ["IndexedPagingOffset": String(fromEnd ? start : end),
                                                       "TotalItemsInView": String(total),
                                                       "IncludesLastItemInRange": includesLast ? "true" : "false"]) { w in
                                w.element("t:Items") { w in
                                    for item in page { ItemXML.writeItem(&w, world: world, mailbox: mailbox, item: item, shape: shape) }
                                }
                            }
                        }
                    } catch {
                        EWSEnvelope.message(&w, "FindItem", error: (error.code, error.message))
                    }
                }
            }
        }
        return .xml(.ok, body)
    }

    static func getFolder(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let world = context.world
        let folderShape = FolderShapeWriter(operation.child(NS.messages, "FolderShape"), dialect: context.dialect)
        let folders = EWSContext.folderIdNodes(operation.child(NS.messages, "FolderIds"))
        let body: String = world.lock.withLock {
            EWSEnvelope.response("GetFolder", for: context) { w in
                for node in folders {
                    do throws(EWSCodeError) {
                        let (mailbox, folder) = try context.resolveFolder(node)
                        EWSEnvelope.message(&w, "GetFolder") { w in
                            w.element("m:Folders") { w in
                                folderShape.write(&w, world: world, mailbox: mailbox, folder: folder)
                            }
                        }
                    } catch {
                        EWSEnvelope.message(&w, "GetFolder", error: (error.code, error.message)) { w in
                            if context.dialect == .gromox { w.empty("m:Folders") }
                        }
                    }
                }
            }
        }
        return .xml(.ok, body)
    }

    /// Our ids are the same in every format, so conversion echoes them; clients (exchangelib) mostly
    /// send ConvertId to read ServerVersionInfo from the response header.
    static func convertId(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let destination = operation.attribute("DestinationFormat") ?? "EwsId"
        let sources = operation.child(NS.messages, "SourceIds")?.children.filter { $0.namespace == NS.types } ?? []
        let body = EWSEnvelope.response("ConvertId", for: context) { w in
            for source in sources {
                let id = source.attribute("Id") ?? ""
                let known = context.world.lock.withLock {
                    context.world.resolveItem(id) != nil || context.world.resolveFolder(id) != nil
                }
                if known {
                    EWSEnvelope.message(&w, "ConvertId") { w in
                        w.empty("m:AlternateId", ["xmlns:xsi": NS.xsi, "xsi:type": "t:AlternateIdType", "Format": destination,
                                                  "Id": id, "Mailbox": source.attribute("Mailbox") ?? ""])
                    }
                } else {
                    EWSEnvelope.message(&w, "ConvertId", error: ("ErrorInvalidIdMalformed", "Id is malformed."))
                }
            }
        }
        return .xml(.ok, body)
    }

    static func resolveNames(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        .xml(.ok, EWSEnvelope.response("ResolveNames", for: context) { w in
            EWSEnvelope.message(&w, "ResolveNames", error: ("ErrorNameResolutionNoResults", "No results were found."))
        })
    }
}

extension ItemOps {
    /// Shallow traversal of one parent folder's children, paged with IndexedPageFolderView (1000 at
    /// most, EWSFindCountLimit), in folder order; the folder shape as GetFolder writes it.
    static func findFolder(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let world = context.world
        let folderShape = FolderShapeWriter(operation.child(NS.messages, "FolderShape"), dialect: context.dialect)
        let view = operation.child(NS.messages, "IndexedPageFolderView")
        let maxEntries = min(1000, Int(view?.attribute("MaxEntriesReturned") ?? "") ?? 1000)
        let offset = max(0, Int(view?.attribute("Offset") ?? "") ?? 0)
        let parents = EWSContext.folderIdNodes(operation.child(NS.messages, "ParentFolderIds"))
        let traversal = operation.attribute("Traversal") ?? "Shallow"
        let body: String = world.lock.withLock {
            EWSEnvelope.response("FindFolder", for: context) { w in
                for node in parents {
                    do throws(EWSCodeError) {
                        guard traversal == "Shallow" else {
                            throw EWSCodeError(code: "ErrorInvalidOperation", message: "Only shallow traversal is supported.")
                        }
                        let (mailbox, parent) = try context.resolveFolder(node)
                        let children = mailbox.folders.filter { $0.parentIndex == parent.index }
                        let start = min(offset, children.count)
                        let end = min(children.count, start + maxEntries)
                        EWSEnvelope.message(&w, "FindFolder") { w in
                            w.element("m:RootFolder", ["IndexedPagingOffset": String(end), "TotalItemsInView": String(children.count),
                                                       "IncludesLastItemInRange": end >= children.count ? "true" : "false"]) { w in
                                w.element("t:Folders") { w in
                                    for folder in children[start..<end] {
                                        folderShape.write(&w, world: world, mailbox: mailbox, folder: folder)
                                    }
                                }
                            }
                        }
                    } catch {
                        EWSEnvelope.message(&w, "FindFolder", error: (error.code, error.message))
                    }
                }
            }
        }
        return .xml(.ok, body)
    }
}

/// A request's FolderShape, as the tenant's dialect writes folders with it (GetFolder, FindFolder,
/// SyncFolderHierarchy).
struct FolderShapeWriter {
    let shape: ItemXML.Shape
    let gromox: GromoxFolderShape?

    init(_ node: SimXMLNode?, dialect: SimDialect) {
        shape = ItemXML.shape(node)
        gromox = dialect == .gromox ? GromoxFolderShape(node) : nil
    }

    func write(_ w: inout XMLWriter, world: SimWorld, mailbox: Mailbox, folder: Folder) {
        if let gromox {
            gromox.write(&w, world: world, mailbox: mailbox, folder: folder)
        } else {
            ItemXML.writeFolder(&w, world: world, mailbox: mailbox, folder: folder, shape: shape == .idOnly ? .idOnly : .full)
        }
    }
}
