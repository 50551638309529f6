import CFuzzDriver
import EWS
import Foundation

/// SwiftPM links executables with `main` aliased to `<module>_main`; hand control to libFuzzer.
@_cdecl("EWSFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
}

/// Small limits so the fuzzer explores the limit paths too and runs fast.
private let limits = XMLParserLimits(maxEnvelopeBytes: 64 * 1024, maxDepth: 48)

/// libFuzzer entry point: runs the input through the one-shot decoders and, split into chunks
/// whose sizes come from the input itself, through the streaming decoder. Any crash, sanitizer
/// report or leak is a bug; thrown `EWSDecodingError`s are the expected outcome for junk.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let data = Data(bytes)

    // One-shot paths.
    _ = try? EWSResponseDecoder(limits: limits).decodeAll(data)
    for operation in EWSOperation.allCases {
        _ = try? EWSResponseDecoder(limits: limits).decode(data, as: operation)
    }
    _ = try? EWSDecodeTool.jsonLines(data, limits: limits)
    if let root = try? EWSXMLDocument.parse(data, limits: limits) {
        _ = root.ewsChild("Body")?.children.first?.trimmedText
    }

    // Streaming path: chunk sizes cycle through values derived from the first bytes.
    let decoder = StreamingEventDecoder(limits: limits)
    let seeds = count > 0 ? Array(bytes.prefix(4)).map { Int($0 % 37) + 1 } : [1]
    var offset = 0
    var round = 0
    do {
        while offset < count {
            let size = min(seeds[round % seeds.count], count - offset)
            _ = try decoder.feed(UnsafeBufferPointer(rebasing: bytes[offset..<offset + size]))
            offset += size
            round += 1
        }
        try decoder.finish()
    } catch {
        _ = error.description
    }
    return 0
}
