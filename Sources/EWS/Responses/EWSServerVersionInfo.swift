public import Foundation

/// `t:ServerVersionInfo` from a response header (fact sheet §1.4): which Exchange build answered.
public struct EWSServerVersionInfo: Hashable, Sendable, Codable {
    public var major: Int, minor: Int, majorBuild: Int, minorBuild: Int
    /// Schema version string (`V2018_01_08`, `Exchange2010_SP1`; absent on Exchange 2007).
    public var version: String

    public init(major: Int, minor: Int, majorBuild: Int, minorBuild: Int, version: String) {
        (self.major, self.minor, self.majorBuild, self.minorBuild, self.version) =
            (major, minor, majorBuild, minorBuild, version)
    }

    init?(element: EWSXMLElement) {
        func number(_ name: String) -> Int { element.attribute(name).flatMap { Int($0) } ?? 0 }
        guard element.attribute("MajorVersion") != nil else { return nil }
        self.init(major: number("MajorVersion"), minor: number("MinorVersion"), majorBuild: number("MajorBuildNumber"),
            minorBuild: number("MinorBuildNumber"), version: element.attribute("Version") ?? "")
    }
}

extension EWSResponseDecoder {
    /// The `ServerVersionInfo` of the first envelope in `data`, if its header carries one.
    public func serverVersionInfo(in data: Data) throws(EWSDecodingError) -> EWSServerVersionInfo? {
        guard let envelope = try EWSXMLDocument.parseAll(data, limits: limits).first else { return nil }
        return envelope.child("Header", in: [EWSNamespace.soap, ""])?.ewsChild("ServerVersionInfo")
            .flatMap(EWSServerVersionInfo.init(element:))
    }
}
