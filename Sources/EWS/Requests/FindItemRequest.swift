public import Foundation

/// A search expression of `m:Restriction` (the subset ewsfleet's `--filter` uses). Comparisons of
/// text ignore case.
public indirect enum EWSRestriction: Hashable, Sendable {
    case and([EWSRestriction])
    case or([EWSRestriction])
    case not(EWSRestriction)
    /// `t:IsEqualTo` with a constant.
    case isEqualTo(EWSItemProperty, String)
    /// `t:Contains` with `ContainmentMode` `Prefixed` (a subject prefix).
    case startsWith(EWSItemProperty, String)
    /// `t:Contains` with `ContainmentMode` `FullString`: on a multi-valued property (categories),
    /// any value equal to the constant.
    case containsValue(EWSItemProperty, String)

    func write(to writer: inout XMLWriter) {
        switch self {
        case .and(let all), .or(let all):
            // The schema wants two or more operands; one is written as itself.
            guard all.count > 1 else {
                all.first?.write(to: &writer)
                return
            }
            let name = if case .and = self { "t:And" } else { "t:Or" }
            writer.open(name)
            for operand in all { operand.write(to: &writer) }
            writer.close(name)
        case .not(let operand):
            writer.open("t:Not")
            operand.write(to: &writer)
            writer.close("t:Not")
        case .isEqualTo(let property, let value):
            writer.open("t:IsEqualTo")
            writer.empty("t:FieldURI", ["FieldURI": property.rawValue])
            writer.open("t:FieldURIOrConstant")
            writer.empty("t:Constant", ["Value": value])
            writer.close("t:FieldURIOrConstant")
            writer.close("t:IsEqualTo")
        case .startsWith(let property, let value), .containsValue(let property, let value):
            let mode = if case .startsWith = self { "Prefixed" } else { "FullString" }
            writer.open("t:Contains", ["ContainmentMode": mode, "ContainmentComparison": "IgnoreCase"])
            writer.empty("t:FieldURI", ["FieldURI": property.rawValue])
            writer.empty("t:Constant", ["Value": value])
            writer.close("t:Contains")
        }
    }
}

/// `m:FindItem`, shallow, one page of an `IndexedPageItemView`, optionally restricted, in one of two
/// orders (see `Order`). EWSFindCountLimit caps a page at 1000 items, 250 with a restriction.
public struct FindItemRequest: EWSOperationRequest, Hashable {
    /// `m:SortOrder`.
    public enum Order: Hashable, Sendable {
        /// Oldest received first: mail arriving while a client pages lands after the pages read.
        case receivedAscending
        /// Last modified first (a search folder's listing): an item that changes while a client
        /// pages moves ahead of the pages read, shifting the rest forward, which shows as an item
        /// listed twice.
        case modifiedDescending
    }

    public let folder: EWSFolderID
    public var additionalProperties: [EWSItemProperty]
    public var restriction: EWSRestriction?
    public var order: Order = .receivedAscending
    /// `m:CalendarView` instead of the indexed view: the occurrences, exceptions and single
    /// entries of a calendar that end after `start` and start before `end`, recurring series
    /// expanded by the server. It takes no restriction and no sort order, and does not page: a
    /// window holding more than `maxEntries` answers the first ones with IncludesLastItemInRange
    /// false, and the client narrows the window.
    public var calendarView: CalendarWindow?
    public let maxEntries: Int
    public let offset: Int
    public var operation: EWSOperation { .findItem }

    public static let pageLimit = 1000
    public static let restrictedPageLimit = 250

    public init(folder: EWSFolderID, additionalProperties: [EWSItemProperty], restriction: EWSRestriction? = nil,
                order: Order = .receivedAscending, maxEntries: Int, offset: Int = 0) throws(EWSRequestError) {
        try checkPaging(maxEntries: maxEntries, limit: restriction == nil ? Self.pageLimit : Self.restrictedPageLimit,
                        offset: offset)
        self.folder = folder
        self.additionalProperties = additionalProperties
        self.restriction = restriction
        self.order = order
        self.maxEntries = maxEntries
        self.offset = offset
    }

    public func writeBody(to writer: inout XMLWriter) {
        // FindItemType's order: ItemShape, the paging view, Restriction, SortOrder, ParentFolderIds.
        writer.within("m:FindItem", ["Traversal": "Shallow"]) { writer in
            writer.shape("m:ItemShape", .idOnly, additionalProperties: additionalProperties.map(\.rawValue))
            if let calendarView {
                // No Restriction and no SortOrder: EWS refuses them with a CalendarView.
                writer.empty("m:CalendarView", ["MaxEntriesReturned": String(maxEntries),
                                                "StartDate": calendarView.start.formatted(.iso8601),
                                                "EndDate": calendarView.end.formatted(.iso8601)])
            } else {
                writeIndexedView(to: &writer)
            }
            writer.within("m:ParentFolderIds") { folder.write(to: &$0) }
        }
    }

    private func writeIndexedView(to writer: inout XMLWriter) {
        writer.indexedPageView("m:IndexedPageItemView", maxEntries: maxEntries, offset: offset)
        if let restriction { writer.within("m:Restriction") { restriction.write(to: &$0) } }
        let (direction, field): (String, EWSItemProperty) = switch order {
        case .receivedAscending: ("Ascending", .dateTimeReceived)
        case .modifiedDescending: ("Descending", .lastModifiedTime)
        }
        writer.within("m:SortOrder") { writer in
            writer.within("t:FieldOrder", ["Order": direction]) { $0.empty("t:FieldURI", ["FieldURI": field.rawValue]) }
        }
    }
}

/// `m:FindFolder`, shallow, one page of an `IndexedPageFolderView` (at most 1000 folders, the
/// EWSFindCountLimit), Default shape (id, display name, class): how a search folder named by its
/// display name is found under `searchfolders`.
public struct FindFolderRequest: EWSOperationRequest, Hashable {
    public let parent: EWSFolderID
    public let maxEntries: Int
    public let offset: Int
    public var operation: EWSOperation { .findFolder }

    public init(parent: EWSFolderID, maxEntries: Int = FindItemRequest.pageLimit, offset: Int = 0) throws(EWSRequestError) {
        try checkPaging(maxEntries: maxEntries, limit: FindItemRequest.pageLimit, offset: offset)
        self.parent = parent
        self.maxEntries = maxEntries
        self.offset = offset
    }

    public func writeBody(to writer: inout XMLWriter) {
        // FindFolderType's order: FolderShape, the paging view, Restriction, ParentFolderIds.
        writer.within("m:FindFolder", ["Traversal": "Shallow"]) { writer in
            writer.shape("m:FolderShape", .default)
            writer.indexedPageView("m:IndexedPageFolderView", maxEntries: maxEntries, offset: offset)
            writer.within("m:ParentFolderIds") { parent.write(to: &$0) }
        }
    }
}

/// A calendar window: from `start` (inclusive) to `end` (exclusive).
public struct CalendarWindow: Hashable, Sendable, CustomStringConvertible {
    public var start: Date
    public var end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }

    public var description: String { "\(start.formatted(.iso8601))/\(end.formatted(.iso8601))" }
}
