public import ArgumentParser

public struct EWSFleetCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "ewsfleet", abstract: "EWS fleet service")
    public init() {}
    public func run() async throws {}
}
