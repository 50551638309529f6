import Foundation
@testable import Store
import Testing
import Support

/// Which changes of a tenant row restart a running tenant, and what each one forgets.
struct TenantReloadClassificationTests {
    static let keyring = SecretKeyring(current: SecretKey.generate().key)

    static func row(_ change: (inout Tenant) -> Void = { _ in }) throws -> Tenant {
        var t = Tenant(
            id: 7, settings: NewTenant(
                name: "contoso", ewsURL: "https://ews.contoso.example/EWS/Exchange.asmx",
                autodiscoverURL: "https://ews.contoso.example/autodiscover/autodiscover.svc", authKind: .basic,
                identity: "svc"),
            sealedSecret: try keyring.seal(Secret("pw"), tenant: "contoso"),
            createdAt: Date(timeIntervalSince1970: 1), updatedAt: Date(timeIntervalSince1970: 2))
        change(&t)
        return t
    }

    static func reload(_ change: (inout Tenant) -> Void) throws -> TenantReload? {
        let old = try row()
        return TenantReload(from: old, to: try row(change), sameSecret: { keyring.sameSecret($0, $1, tenant: "contoso") })
    }

    @Test func stateGroupingAndTimestampsRestartNothing() throws {
        #expect(try Self.reload { $0.state = .disabled; $0.stateReason = "x" } == nil)
        #expect(try Self.reload { $0.grouping = .perMailbox; $0.groupingReason = "server" } == nil)
        #expect(try Self.reload { $0.updatedAt = Date(timeIntervalSince1970: 99) } == nil)
    }

    @Test func theSameSecretSealedAgainIsNoChangeAndANewOneKeepsWhatTheServerKnows() throws {
        #expect(try Self.reload { $0.sealedSecret = try! Self.keyring.seal(Secret("pw"), tenant: "contoso") } == nil)
        let reload = try #require(try Self.reload { $0.sealedSecret = try! Self.keyring.seal(Secret("new"), tenant: "contoso") })
        #expect(reload.changed == [.secret])
        #expect(!reload.forgetsSubscriptions && !reload.forgetsSyncStates)
        // Without a keyring, two sealings of one secret differ: a restart, never a missed change.
        let plain = TenantReload(from: try Self.row(), to: try Self.row { $0.sealedSecret = try! Self.keyring.seal(Secret("pw"), tenant: "contoso") })
        #expect(plain?.changed == [.secret])
    }

    @Test(arguments: [
        (TenantReload.Setting.ewsURL, true, true), (.authKind, true, false), (.identity, true, false),
        (.impersonation, true, false), (.throttling, false, false), (.caBundle, false, false),
        (.insecureTLS, false, false), (.autodiscoverURL, false, false), (.tokenURL, false, false), (.scope, false, false),
        (.allowPlainHTTP, false, false), (.syncMode, false, false), (.pollInterval, false, false),
        (.itemProperties, false, false), (.calendarWindow, false, false),
    ])
    func eachSettingRestartsAndForgetsWhatItMustForget(setting: TenantReload.Setting, subscriptions: Bool, syncStates: Bool) throws {
        let reload = try #require(try Self.reload { t in
            switch setting {
            case .ewsURL: t.ewsURL = "https://other.contoso.example/EWS/Exchange.asmx"
            case .autodiscoverURL: t.autodiscoverURL = nil
            case .authKind: t.authKind = .ntlm
            case .identity: t.identity = "svc2"
            case .tokenURL: t.tokenURL = "https://login.example/token"
            case .scope: t.scope = "s"
            case .secret: break
            case .impersonation: t.impersonation = false
            case .throttling: t.throttling.requestRate = 5
            case .caBundle: t.caBundle = "/etc/ca.pem"
            case .insecureTLS: t.insecureTLS = true
            case .allowPlainHTTP: t.allowPlainHTTP = true
            case .syncMode: t.syncMode = .syncOnly
            case .pollInterval: t.pollIntervalSeconds = 300
            case .itemProperties: t.itemProperties = try! PropertyProfile(parsing: "extended")
            case .calendarWindow: t.calendarWindow = CalendarWindowSetting(daysBack: 7, daysAhead: 90)
            }
        })
        #expect(reload.changed == [setting])
        #expect(reload.forgetsSubscriptions == subscriptions)
        #expect(reload.forgetsSyncStates == syncStates)
        #expect(reload.description == setting.rawValue)
    }
}
