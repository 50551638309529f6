import Foundation

extension SimWorld {
    static let distinguishedFolders: [(String, String, String)] = [
        ("msgfolderroot", "Top of Information Store", "IPF.Note"),
        ("inbox", "Inbox", "IPF.Note"),
        ("sentitems", "Sent Items", "IPF.Note"),
        ("deleteditems", "Deleted Items", "IPF.Note"),
        ("drafts", "Drafts", "IPF.Note"),
        ("calendar", "Calendar", "IPF.Appointment"),
    ]

    static let subjects = [
        "Quarterly report", "Lunch on Friday?", "Invoice 4711", "Re: project plan", "Meeting notes",
        "Build failed", "Welcome aboard", "Travel itinerary", "Fw: contract draft", "Status update",
    ]

    func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
    }

    /// Builds tenants, servers, mailboxes, folders and initial items from the seed (lock held).
    func populate() {
        let config = configuration
        for t in 0..<config.tenants {
            let name = "tenant\(t + 1)"
            let servers = (0..<max(1, config.serversPerTenant)).map {
                "\(name.uppercased())MB\(String(format: "%03d", $0 + 1)).prod.sim.example"
            }
            let clientId = [randomHex(4), randomHex(2), randomHex(2), randomHex(2), randomHex(6)].joined(separator: "-")
            let tenant = Tenant(
                index: t, name: name, username: "svc@\(name).example", password: "pw-" + randomHex(8),
                clientId: clientId, clientSecret: "secret-" + randomHex(12), userPassword: "user-" + randomHex(6),
                servers: servers, dialect: config.dialect)
            tenants.append(tenant)
            tenantByName[name] = tenant
            for m in 0..<config.mailboxesPerTenant {
                let smtp = "user\(m + 1)@\(name).example"
                let mailbox = Mailbox(tenantIndex: t, index: m, smtp: smtp, serverIndex: m % servers.count)
                createFolders(mailbox)
                for _ in 0..<config.itemsPerMailbox { seedItem(mailbox) }
                if let name = config.unreadSearchFolder {
                    createSearchFolderLocked(mailbox, name: name, definition: SearchDefinition(
                        baseFolders: [mailbox.folder(distinguished: "inbox")!.index],
                        restriction: .unread))
                }
                tenant.mailboxes.append(mailbox)
                mailboxBySmtp[smtp] = mailbox
            }
        }
    }

    private func createFolders(_ mailbox: Mailbox) {
        let root = Folder(index: 0, distinguished: "root", displayName: "Root", parentIndex: nil,
                          folderClass: "", createdSequence: mailbox.nextSequence())
        mailbox.folders.append(root)
        for (offset, entry) in Self.distinguishedFolders.enumerated() {
            let parent: UInt32 = offset == 0 ? 0 : 1
            mailbox.folders.append(Folder(
                index: UInt32(offset + 1), distinguished: entry.0, displayName: entry.1, parentIndex: parent,
                folderClass: entry.2, createdSequence: mailbox.nextSequence()))
        }
        let names = ["Projects", "Archive", "Receipts", "Newsletters", "Team"]
        for n in 0..<configuration.userFoldersPerMailbox {
            let name = n < names.count ? names[n] : "Folder \(n + 1)"
            mailbox.folders.append(Folder(
                index: UInt32(mailbox.folders.count), distinguished: nil, displayName: name, parentIndex: 1,
                folderClass: "IPF.Note", createdSequence: mailbox.nextSequence()))
        }
    }

    /// Initial content: mostly inbox, some sent items and user folders. Not recorded in the ledger.
    private func seedItem(_ mailbox: Mailbox) {
        let roll = Int.random(in: 0..<10, using: &random)
        let target: Folder
        if roll < 7 {
            target = mailbox.folder(distinguished: "inbox")!
        } else if roll < 9 || mailbox.folders.count <= 7 {
            target = mailbox.folder(distinguished: "sentitems")!
        } else {
            target = mailbox.folders[7 + Int.random(in: 0..<(mailbox.folders.count - 7), using: &random)]
        }
        let age = Double(Int.random(in: 3_600...(86_400 * 60), using: &random))
        _ = insertItem(mailbox, folder: target, received: clock.date().addingTimeInterval(-age),
                       isRead: random.chance(0.6))
    }

    /// Creates an item in `folder` (lock held) and returns it.
    func insertItem(_ mailbox: Mailbox, folder: Folder, received: Date, isRead: Bool) -> Item {
        let sequence = mailbox.nextSequence()
        let key = mailbox.nextItemKey
        mailbox.nextItemKey += 1
        let subject = Self.subjects[Int.random(in: 0..<Self.subjects.count, using: &random)]
        let senderIndex = Int.random(in: 1...50, using: &random)
        let item = Item(
            key: key, generation: 0, folderIndex: folder.index, createdSequence: sequence,
            contentSequence: sequence, readSequence: sequence, changeSequence: sequence, keySequence: sequence, isRead: isRead,
            isFlagged: false, subject: subject, sender: "sender\(senderIndex)@external.example", received: received,
            size: Int.random(in: 2_000...250_000, using: &random), hasAttachments: random.chance(0.2))
        mailbox.items[key] = item
        folder.itemKeys.insert(key)
        if !isRead { folder.unread += 1 }
        return item
    }
}
