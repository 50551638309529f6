// swift-tools-version: 6.2
import PackageDescription

// Module map (see README "Layout"):
//   C edge:  CCurl, CLibXML2, CLibPQ  (system libraries found through pkg-config)
//   Support   — neutral utilities both sides use (Secret, Backoff, SplitMix64, Duration units, Signal)
//   EWS       — SOAP wire codec on libxml2 (requests, responses, streaming decoder, action table)
//   HTTP      — libcurl multi-handle transport (one loop thread, async/await callers)
//   Store     — PostgreSQL over libpq (pool, transactions, outbox follower, secrets, migrations)
//   Fleet     — mailbox actors, stream groups, supervisor
//   Simulator — ews-sim as a library (SwiftNIO HTTP server)
//   EWSFleetCLI / ewsfleet, ews-sim — executables, thin over the libraries
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "ewsfleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ewsfleet", targets: ["ewsfleet"]),
        .executable(name: "ews-sim", targets: ["ews-sim"]),
        .library(name: "EWS", targets: ["EWS"]),
        .library(name: "HTTP", targets: ["HTTP"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Fleet", targets: ["Fleet"]),
        .library(name: "Simulator", targets: ["Simulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // ews-sim --tls generates its CA and server certificate in-process.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        // MARK: C edge
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CLibXML2", pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),

        // MARK: libraries
        .target(name: "Support", swiftSettings: swiftSettings),
        .target(
            name: "EWS",
            dependencies: [
                "CLibXML2",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "HTTP",
            dependencies: [
                "CCurl", "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Store",
            dependencies: [
                "CLibPQ", "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // schema.sql (top level, symlinked here) is compiled into the binary, so `ewsfleet db
            // migrate` needs no file next to it.
            resources: [.embedInCode("Schema/schema.sql")],
            swiftSettings: swiftSettings),
        .target(
            name: "Fleet",
            dependencies: [
                "EWS", "HTTP", "Store", "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Simulator",
            // Not "EWS": ews-sim reads and writes the protocol with its own code, so it cannot share
            // a wrong reading with the client it tests.
            dependencies: [
                "CLibXML2", "Support",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "EWSFleetCLI",
            dependencies: [
                "EWS", "HTTP", "Store", "Fleet", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "ewsfleet", dependencies: ["EWSFleetCLI"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ews-sim",
            dependencies: [
                "Simulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // MARK: benchmarks (run through Benchmarks/*.sh; see Benchmarks/README.md)
        .executableTarget(
            name: "store-bench",
            dependencies: ["Store", "Support", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/StoreBench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "http-bench",
            dependencies: [
                "HTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/HTTPBench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "ews-codec-bench", dependencies: ["EWS"], path: "Benchmarks/EWSCodecBench",
            swiftSettings: swiftSettings),

        .executableTarget(
            name: "ews-sim-bench",
            dependencies: [
                "Simulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/EWSSimBench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "chaos-verdict", dependencies: ["Simulator"], path: "Benchmarks/ChaosVerdict",
            swiftSettings: swiftSettings),

        // MARK: tests
        // posix_spawn's GNU file actions for TestSupport's `SpawnedProcess` (tests only).
        .target(name: "CSpawn", path: "Sources/CSpawn"),
        .target(
            name: "TestSupport",
            dependencies: ["Store", "Support", "CSpawn", .product(name: "Logging", package: "swift-log")],
            path: "Sources/TestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "EWSTests", dependencies: ["EWS", "TestSupport"], resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTPTests",
            dependencies: [
                "HTTP", "Support", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Support", "TestSupport"], swiftSettings: swiftSettings),
        // Tests that need the PostgreSQL server scripts/test starts.
        .testTarget(
            name: "StoreIntegrationTests", dependencies: ["Store", "Support", "TestSupport"],
            swiftSettings: swiftSettings),
        // Runs the built `ewsfleet` binary and tests the CLI's configuration loading; `tenant test`
        // runs against an in-process ews-sim.
        .testTarget(
            name: "CLITests", dependencies: ["EWSFleetCLI", "ewsfleet", "Store", "Simulator", "Support", "TestSupport"],
            swiftSettings: swiftSettings),
        // The fleet against an in-process ews-sim and the PostgreSQL server scripts/test starts.
        .testTarget(
            name: "FleetIntegrationTests",
            dependencies: ["Fleet", "Simulator", "Store", "HTTP", "Support", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "Support", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SimulatorTests",
            dependencies: [
                // HTTP: the TLS and NTLM tests drive the simulator with the real libcurl transport.
                "Simulator", "EWS", "HTTP", "Support", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
    ]
)
