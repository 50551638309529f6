import NIOHTTP1

/// A per-message failure: ResponseClass="Error" with this code.
struct EWSCodeError: Error {
    var code: String
    var message: String

    static let folderNotFound = EWSCodeError(code: "ErrorFolderNotFound", message: "The specified folder could not be found in the store.")
    static let itemNotFound = EWSCodeError(code: "ErrorItemNotFound", message: "The specified object was not found in the store.")
    static let malformedId = EWSCodeError(code: "ErrorInvalidIdMalformed", message: "Id is malformed.")
    static let accessDenied = EWSCodeError(code: "ErrorAccessDenied", message: "Access is denied. Check credentials and try again.")
    static let noMailbox = EWSCodeError(code: "ErrorMissingEmailAddress", message: "When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids.")
    static let nonExistentMailbox = EWSCodeError(code: "ErrorNonExistentMailbox", message: "The SMTP address has no mailbox associated with it.")
}

/// Who is asking, for which mailbox, with which routing headers. Methods here expect the world's
/// lock to be held by the caller.
struct EWSContext {
    let world: SimWorld
    let tenant: Tenant
    let identity: SimIdentity
    /// The impersonated mailbox (ExchangeImpersonation header), if any.
    let impersonated: Mailbox?
    let headers: HTTPHeaders
    /// The tenant's dialect when the request arrived.
    let dialect: SimDialect
    /// The operation being served (gromox words its access errors per operation).
    let operation: String

    /// Who the request acts as: the impersonated mailbox's user, else the caller.
    var effectiveUser: String { impersonated.map { "user:" + $0.smtp.lowercased() } ?? identity.key }

    /// The ownership key of subscriptions this request creates or opens: Exchange ties them to
    /// the calling account (so one service account can carry impersonated mailboxes'
    /// subscriptions on one connection); gromox to the effective user.
    var subscriptionOwner: String { dialect == .gromox ? effectiveUser : identity.key }

    /// ErrorAccessDenied in the dialect's words (gromox numbers its messages per call site).
    var accessDenied: EWSCodeError {
        guard dialect == .gromox else { return .accessDenied }
        return EWSCodeError(code: "ErrorAccessDenied", message: GromoxErrors.accessDenied(operation))
    }

    /// The throttling budget a request is charged to (fact sheet §8.1): with impersonation, the
    /// target mailbox's copy shared by every service account impersonating it; otherwise the
    /// caller's own (a user's own budget is separate from the service accounts' copy). So requests
    /// impersonating different mailboxes share neither the hanging-connection limit, the
    /// recharging budget nor an advised back-off.
    var chargedBudget: String {
        if case .user = identity.kind { return identity.key }
        return impersonated.map { "impersonated:" + $0.smtp.lowercased() } ?? identity.key
    }

    /// The mailbox acted on when a request does not name one.
    func defaultMailbox() throws(EWSCodeError) -> Mailbox {
        if let impersonated { return impersonated }
        if case .user(let index) = identity.kind { return tenant.mailboxes[index] }
        throw .noMailbox
    }

    /// May this caller (as itself, or as the impersonated user) open `mailbox`? Without
    /// impersonation that takes delegate rights (`/_sim/access`) on anything but its own.
    func checkAccess(_ mailbox: Mailbox) throws(EWSCodeError) {
        guard mailbox.tenantIndex == tenant.index else { throw accessDenied }
        if let impersonated {
            guard impersonated === mailbox else { throw accessDenied }
            return
        }
        guard world.accessBook.allows(.delegate, identity: identity, mailbox: mailbox) else { throw accessDenied }
    }

    /// Resolves `t:FolderId` or `t:DistinguishedFolderId` (optionally with `t:Mailbox/t:EmailAddress`);
    /// `checked: false` skips the rights check (gromox's Subscribe makes none).
    func resolveFolder(_ node: SimXMLNode, checked: Bool = true) throws(EWSCodeError) -> (Mailbox, Folder) {
        switch node.localName {
        case "FolderId":
            guard let id = node.attribute("Id"), SimIds.parseFolder(id) != nil else { throw .malformedId }
            guard let (mailbox, folder) = world.resolveFolder(id), mailbox.tenantIndex == tenant.index else {
                throw .folderNotFound
            }
            if checked { try checkAccess(mailbox) }
            return (mailbox, folder)
        case "DistinguishedFolderId":
            let mailbox: Mailbox
            if let address = node.path((NS.types, "Mailbox"), (NS.types, "EmailAddress"))?.trimmedText, !address.isEmpty {
                guard let found = world.mailbox(smtp: address), found.tenantIndex == tenant.index else {
                    throw .nonExistentMailbox
                }
                mailbox = found
            } else {
                mailbox = try defaultMailbox()
            }
            if checked { try checkAccess(mailbox) }
            guard let name = node.attribute("Id") else { throw .folderNotFound }
            // gromox 3.10 knows no `searchfolders` id; its search root is "Finder" under the root
            // (captured from 3.10).
            if dialect == .gromox, name == "searchfolders" {
                throw EWSCodeError(code: "ErrorFolderNotFound", message: "E-3051: unknown distinguished folder id 'searchfolders'")
            }
            guard let folder = mailbox.folder(distinguished: name) else { throw .folderNotFound }
            return (mailbox, folder)
        default:
            throw .folderNotFound
        }
    }

    /// Resolves a `t:ItemId`; deleted or moved items (old ids) are not found.
    func resolveItem(_ node: SimXMLNode) throws(EWSCodeError) -> (Mailbox, Item) {
        guard let id = node.attribute("Id"), SimIds.parseItem(id) != nil else { throw .malformedId }
        guard let (mailbox, item) = world.resolveItem(id), mailbox.tenantIndex == tenant.index else {
            throw .itemNotFound
        }
        try checkAccess(mailbox)
        return (mailbox, item)
    }

    /// The first folder-id element among `node`'s children.
    static func folderIdNodes(_ node: SimXMLNode?) -> [SimXMLNode] {
        node?.children.filter {
            $0.namespace == NS.types && ($0.localName == "FolderId" || $0.localName == "DistinguishedFolderId")
        } ?? []
    }

    /// Server index chosen for this request: affinity cookie, else X-AnchorMailbox, else impersonation.
    func routedServer() -> Int? {
        if let cookie = affinityCookie(),
           let server = tenant.servers.firstIndex(where: { cookie.hasPrefix($0 + "~") || cookie == $0 }) {
            return server
        }
        if let anchor = headers.first(name: "X-AnchorMailbox"), let mailbox = world.mailbox(smtp: anchor),
           mailbox.tenantIndex == tenant.index {
            return mailbox.serverIndex
        }
        return impersonated?.serverIndex
    }

    /// X-BackEndOverrideCookie from a `Cookie:` header or as a plain request header.
    func affinityCookie() -> String? {
        for header in headers[canonicalForm: "Cookie"] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("X-BackEndOverrideCookie=") {
                    return String(pair.dropFirst("X-BackEndOverrideCookie=".count))
                }
            }
        }
        return headers.first(name: "X-BackEndOverrideCookie")
    }

    var prefersAffinity: Bool { headers.first(name: "X-PreferServerAffinity")?.lowercased() == "true" }
}

import Foundation
