import ArgumentParser

/// Placeholder until the codec branch lands its `ews decode` (it replaces this file).
public struct EWSCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "ews", abstract: "EWS wire tools.")
    public init() {}
}
