import Testing

@testable import Store

@Suite struct PropertyProfileTests {
    @Test func setNamesExpandAndTheBodyPreviewNeedsItsOwnName() throws {
        let standard = try PropertyProfile(parsing: "default")
        #expect(standard == .default)
        #expect(standard.fields == Set(ItemField.defaultSet))
        #expect(standard.extras.isEmpty)
        let extended = try PropertyProfile(parsing: "extended")
        #expect(extended.fields == Set(ItemField.extendedSet))
        #expect(!extended.carries(.bodyPreview))
        #expect(extended.extras == [.internetMessageID, .conversationID, .from, .to, .cc, .categories, .importance, .flagStatus])
        let withBody = try PropertyProfile(parsing: "extended,body_preview")
        #expect(withBody.carries(.bodyPreview) && withBody.carries(.importance) && withBody.carries(.subject))
    }

    @Test func theSpecIsCanonicalSoThatEqualProfilesStoreTheSameText() throws {
        #expect(try PropertyProfile(parsing: " Body_Preview , extended,subject ").spec == "extended,body_preview")
        #expect(try PropertyProfile(parsing: "importance,subject,importance").spec == "subject,importance")
        #expect(try PropertyProfile(parsing: "default,from").spec == "default,from")
        #expect(try PropertyProfile(parsing: "extended,default").spec == "extended")
        // Parsing the stored spelling gives the same profile back.
        for text in ["default", "extended,body_preview", "subject,from,cc", "default,categories"] {
            let profile = try PropertyProfile(parsing: text)
            #expect(try PropertyProfile(parsing: profile.spec) == profile)
        }
    }

    @Test func aListNarrowsWhatChangesCarry() throws {
        let profile = try PropertyProfile(parsing: "subject,importance")
        #expect(profile.fields == [.subject, .importance])
        #expect(!profile.carries(.isRead))
        #expect(profile.extras == [.importance])
    }

    @Test func unknownOrEmptyNamesAreOneClearError() {
        for text in ["", ",", "subject,,from", "bodypreview", "extended;body_preview"] {
            #expect(throws: StoreError.self) { try PropertyProfile(parsing: text) }
        }
        do {
            _ = try PropertyProfile(parsing: "subject,preview")
            Issue.record("accepted an unknown field")
        } catch {
            #expect(error.message.contains("unknown property preview"))
            #expect(error.message.contains("body_preview"))
        }
    }
}
