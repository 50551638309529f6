// swift-tools-version: 6.2
import PackageDescription

// libFuzzer target over the EWS decoders. Its own package so libFuzzer's `main` never collides
// with the project's executables. See README.md.
let package = Package(
    name: "EWSFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "ewsfleet", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "EWSFuzz",
            dependencies: ["CFuzzDriver", .product(name: "EWS", package: "ewsfleet")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")])
    ]
)
