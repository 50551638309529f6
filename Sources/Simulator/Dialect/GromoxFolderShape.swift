/// Which folder properties gromox writes: exactly those of the base shape plus the requested
/// `t:AdditionalProperties`, never more (captured from 3.10). Its Default shape has no FolderClass
/// and no ParentFolderId, so a SyncFolderHierarchy that does not ask for `folder:FolderClass` by
/// name gets folders without a class, and notes, journal and the like look like mail folders.
struct GromoxFolderShape {
    enum Property: String, CaseIterable {
        // Schema order of FolderType.
        case parentFolderId = "folder:ParentFolderId", folderClass = "folder:FolderClass"
        case displayName = "folder:DisplayName", totalCount = "folder:TotalCount"
        case childFolderCount = "folder:ChildFolderCount", unreadCount = "folder:UnreadCount"
    }

    var properties: Set<Property>

    init(_ shapeNode: SimXMLNode?) {
        switch shapeNode?.child(NS.types, "BaseShape")?.trimmedText ?? "IdOnly" {
        case "Default": properties = [.displayName, .totalCount, .childFolderCount, .unreadCount]
        case "AllProperties": properties = Set(Property.allCases)
        default: properties = []
        }
        let additional = shapeNode?.child(NS.types, "AdditionalProperties")?.children(NS.types, "FieldURI") ?? []
        for field in additional {
            if let property = field.attribute("FieldURI").flatMap(Property.init(rawValue:)) { properties.insert(property) }
        }
    }

    func write(_ w: inout XMLWriter, world: SimWorld, mailbox: Mailbox, folder: Folder) {
        let element = folder.search != nil ? "t:SearchFolder" : folder.folderClass == "IPF.Appointment" ? "t:CalendarFolder" : "t:Folder"
        w.element(element) { w in
            w.empty("t:FolderId", ["Id": world.folderId(mailbox, folder), "ChangeKey": SimIds.folderChangeKey(folder.changeSequence)])
            for property in Property.allCases where properties.contains(property) {
                switch property {
                case .parentFolderId:
                    guard let parent = folder.parentIndex.flatMap({ p in mailbox.folders.first { $0.index == p } }) else { continue }
                    w.empty("t:ParentFolderId", ["Id": world.folderId(mailbox, parent)])  // no ChangeKey, as captured
                case .folderClass:
                    if !folder.folderClass.isEmpty { w.element("t:FolderClass", folder.folderClass) }
                case .displayName:
                    w.element("t:DisplayName", folder.displayName)
                case .totalCount:
                    w.element("t:TotalCount", String(world.totalCount(mailbox, folder)))
                case .childFolderCount:
                    w.element("t:ChildFolderCount", String(mailbox.folders.count { $0.parentIndex == folder.index }))
                case .unreadCount:
                    if element != "t:CalendarFolder" { w.element("t:UnreadCount", String(world.unreadCount(mailbox, folder))) }
                }
            }
        }
    }
}
