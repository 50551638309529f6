/// `m:SyncFolderItems` (fact sheet §5.1).
public struct SyncFolderItemsRequest: EWSOperationRequest, Hashable {
    public static let maxChangesRange = 1...512

    public var folder: EWSFolderID
    /// Omit on the first sync; afterwards the last stored SyncState, whole.
    public var syncState: String?
    public var ignore: [EWSItemID]
    public let maxChangesReturned: Int
    public var scope: EWSSyncScope?
    public var shape: EWSBaseShape
    /// Properties each Create and Update carries besides the shape: a baseline asks for
    /// `message:IsRead`, so it records the read state without a GetItem per item.
    public var additionalProperties: [EWSItemProperty]
    public var operation: EWSOperation { .syncFolderItems }

    public init(
        folder: EWSFolderID, syncState: String? = nil, ignore: [EWSItemID] = [], maxChangesReturned: Int = 512,
        scope: EWSSyncScope? = nil, shape: EWSBaseShape = .idOnly, additionalProperties: [EWSItemProperty] = []
    ) throws(EWSRequestError) {
        guard Self.maxChangesRange.contains(maxChangesReturned) else {
            throw .outOfRange("MaxChangesReturned", maxChangesReturned, Self.maxChangesRange)
        }
        self.folder = folder
        self.syncState = syncState
        self.ignore = ignore
        self.maxChangesReturned = maxChangesReturned
        self.scope = scope
        self.shape = shape
        self.additionalProperties = additionalProperties
    }

    public func writeBody(to writer: inout XMLWriter) {
        writer.within("m:SyncFolderItems") { writer in
            writer.shape("m:ItemShape", shape, additionalProperties: additionalProperties.map(\.rawValue))
            writer.within("m:SyncFolderId") { folder.write(to: &$0) }
            if let syncState, !syncState.isEmpty { writer.element("m:SyncState", syncState) }
            if !ignore.isEmpty { writer.within("m:Ignore") { $0.itemIDs(ignore) } }
            writer.element("m:MaxChangesReturned", String(maxChangesReturned))
            if let scope { writer.element("m:SyncScope", scope.rawValue) }
        }
    }
}

/// `m:SyncFolderHierarchy` (fact sheet §5.3). Use the same root (or none) every time.
public struct SyncFolderHierarchyRequest: EWSOperationRequest, Hashable {
    public var folder: EWSFolderID?
    public var syncState: String?
    public var shape: EWSBaseShape
    /// FieldURIs asked for besides the shape. gromox leaves `folder:FolderClass` out of the Default
    /// shape unless it is asked for by name (Exchange includes it either way).
    public var additionalProperties: [String]
    public var operation: EWSOperation { .syncFolderHierarchy }

    public init(folder: EWSFolderID? = nil, syncState: String? = nil, shape: EWSBaseShape = .idOnly,
                additionalProperties: [String] = []) {
        self.folder = folder
        self.syncState = syncState
        self.shape = shape
        self.additionalProperties = additionalProperties
    }

    public func writeBody(to writer: inout XMLWriter) {
        writer.within("m:SyncFolderHierarchy") { writer in
            writer.shape("m:FolderShape", shape, additionalProperties: additionalProperties)
            if let folder { writer.within("m:SyncFolderId") { folder.write(to: &$0) } }
            if let syncState, !syncState.isEmpty { writer.element("m:SyncState", syncState) }
        }
    }
}

/// `m:GetItem` for a batch of ids (fact sheet §6), IdOnly plus the summary properties.
public struct GetItemRequest: EWSOperationRequest, Hashable {
    public let itemIDs: [EWSItemID]
    /// `t:RecurringMasterItemId`: the recurring masters of these occurrences (or exceptions), by
    /// their ids, after `itemIDs`.
    public var mastersOf: [String] = []
    public var shape: EWSBaseShape
    public var additionalProperties: [EWSItemProperty]
    /// The form of `item:Body` (`Text` for a plain-text preview); nil leaves the server's default.
    public var bodyType: EWSBodyType?
    /// At most this many kilobytes of body (Exchange 2013 and later; older servers and gromox 3.10
    /// send the whole body, which the caller truncates).
    public var maximumBodySizeKB: Int?
    public var operation: EWSOperation { .getItem }

    public init(
        itemIDs: [EWSItemID], shape: EWSBaseShape = .idOnly,
        additionalProperties: [EWSItemProperty] = EWSItemProperty.summary,
        bodyType: EWSBodyType? = nil, maximumBodySizeKB: Int? = nil, mastersOf: [String] = []
    ) throws(EWSRequestError) {
        self.mastersOf = mastersOf
        guard !itemIDs.isEmpty || !mastersOf.isEmpty else { throw .empty("item id list") }
        if let maximumBodySizeKB, maximumBodySizeKB < 1 { throw .outOfRange("MaximumBodySize", maximumBodySizeKB, 1...Int(Int32.max)) }
        self.itemIDs = itemIDs
        self.shape = shape
        self.additionalProperties = additionalProperties
        self.bodyType = bodyType
        self.maximumBodySizeKB = maximumBodySizeKB
    }

    public func writeBody(to writer: inout XMLWriter) {
        writer.within("m:GetItem") { writer in
            // ItemResponseShapeType's order: BaseShape, BodyType, ..., MaximumBodySize, AdditionalProperties.
            writer.shape("m:ItemShape", shape, additionalProperties: additionalProperties.map(\.rawValue)) { writer in
                if let bodyType { writer.element("t:BodyType", bodyType.rawValue) }
                if let maximumBodySizeKB { writer.element("t:MaximumBodySize", String(maximumBodySizeKB)) }
            }
            writer.within("m:ItemIds") { writer in
                writer.itemIDs(itemIDs)
                for occurrence in mastersOf { writer.empty("t:RecurringMasterItemId", ["OccurrenceId": occurrence]) }
            }
        }
    }
}

/// `m:GetFolder`: resolves distinguished folders to ids (IdOnly by default).
public struct GetFolderRequest: EWSOperationRequest, Hashable {
    public let folders: [EWSFolderID]
    public var shape: EWSBaseShape
    public var operation: EWSOperation { .getFolder }

    public init(folders: [EWSFolderID], shape: EWSBaseShape = .idOnly) throws(EWSRequestError) {
        guard !folders.isEmpty else { throw .empty("folder list") }
        self.folders = folders
        self.shape = shape
    }

    public func writeBody(to writer: inout XMLWriter) {
        writer.within("m:GetFolder") { writer in
            writer.shape("m:FolderShape", shape)
            writer.within("m:FolderIds") { writer in
                for folder in folders { folder.write(to: &writer) }
            }
        }
    }
}
