import Support
import NIOConcurrencyHelpers

/// Random user activity across all mailboxes at a given rate, reproducible from the seed.
/// Runs as one task on the world's clock, acting in 50 ms ticks.
public final class TrafficGenerator: Sendable {
    public struct Mix: Sendable, Equatable {
        public var newMail = 5.0, read = 2.0, unread = 0.5, flag = 1.0, move = 0.7, delete = 0.7, folderCreate = 0.1
        public init() {}

        static let keys = ["new_mail", "read", "unread", "flag", "move", "delete", "folder_create"]
        var weights: [Double] { [newMail, read, unread, flag, move, delete, folderCreate] }

        mutating func set(_ key: String, _ value: Double) {
            switch key {
            case "new_mail": newMail = value
            case "read": read = value
            case "unread": unread = value
            case "flag", "update": flag = value
            case "move": move = value
            case "delete": delete = value
            case "folder_create": folderCreate = value
            default: break
            }
        }
    }

    private struct State {
        var task: Task<Void, Never>?
        var rate: Double = 0
        var generation = 0
    }

    private let world: SimWorld
    private let state = NIOLockedValueBox(State())
    private let performed = NIOLockedValueBox(0)

    init(world: SimWorld) { self.world = world }

    public var rate: Double { state.withLockedValue { $0.rate } }
    /// Actions performed so far.
    public var actions: Int { performed.withLockedValue { $0 } }

    /// Starts (or retunes) traffic; a rate of 0 stops it.
    public func set(rate: Double, mix: Mix = Mix()) {
        let world = self.world
        let performed = self.performed
        state.withLockedValue { state in
            state.task?.cancel()
            state.task = nil
            state.rate = max(0, rate)
            state.generation += 1
            guard rate > 0 else { return }
            let seed = world.configuration.seed &+ UInt64(state.generation) &* 0x1000_0001
            state.task = Task {
                var random = SplitMix64(simSeed: seed)
                let tick = Duration.milliseconds(50)
                var next = world.clock.now()
                var budget = 0.0
                while !Task.isCancelled {
                    next += tick
                    do { try await world.clock.sleep(untilOffset: next) } catch { return }
                    budget += rate * 0.05
                    let count = Int(budget)
                    budget -= Double(count)
                    guard count > 0 else { continue }
                    world.performRandomActions(count, mix: mix, random: &random)
                    performed.withLockedValue { $0 += count }
                }
            }
        }
    }

    public func stop() { set(rate: 0) }
}

extension SimWorld {
    /// `count` random user actions under one lock acquisition.
    func performRandomActions(_ count: Int, mix: TrafficGenerator.Mix, random: inout SplitMix64) {
        let weights = mix.weights
        let total = weights.reduce(0, +)
        guard total > 0 else { return }
        lock.withLock {
            for _ in 0..<count {
                guard !tenants.isEmpty else { return }
                let tenant = tenants[Int.random(in: 0..<tenants.count, using: &random)]
                guard !tenant.mailboxes.isEmpty else { continue }
                let mailbox = tenant.mailboxes[Int.random(in: 0..<tenant.mailboxes.count, using: &random)]
                var roll = Double.random(in: 0..<total, using: &random)
                var action = 0
                while action < weights.count - 1 && roll >= weights[action] {
                    roll -= weights[action]
                    action += 1
                }
                performAction(action, mailbox, &random)
            }
        }
    }

    private func performAction(_ action: Int, _ mailbox: Mailbox, _ random: inout SplitMix64) {
        let inbox = mailbox.folder(distinguished: "inbox")!
        if action == 0 || mailbox.items.isEmpty {
            _ = deliverLocked(mailbox, inbox)
            return
        }
        // Pick an item, mostly from the inbox where users act, by probing random keys: O(1), and it
        // depends only on the seed and the world, not on hash order.
        let wantInbox = !inbox.itemKeys.isEmpty && !random.chance(0.2)
        var picked: Item?
        for _ in 0..<16 {
            let key = UInt64.random(in: 1..<max(2, mailbox.nextItemKey), using: &random)
            if let item = mailbox.items[key], !wantInbox || item.folderIndex == inbox.index {
                picked = item
                break
            }
        }
        guard let item = picked else {
            _ = deliverLocked(mailbox, inbox)
            return
        }
        switch action {
        case 1: setReadLocked(mailbox, item, true)
        case 2: setReadLocked(mailbox, item, false)
        case 3: updateLocked(mailbox, item)
        case 4:
            let targets = mailbox.folders.filter { $0.index >= 2 && $0.index != item.folderIndex && $0.folderClass == "IPF.Note" && $0.search == nil }
            if let target = targets.randomElement(using: &random) { _ = moveLocked(mailbox, item, target) }
        case 5: deleteLocked(mailbox, item, hard: false)
        default:
            if mailbox.folders.count < 40 { _ = createFolderLocked(mailbox, name: "Folder \(mailbox.folders.count)") }
        }
    }
}
