import Foundation
import HTTP
import NIOCore

// http-bench — see Benchmarks/README.md, section "HTTP transport".
//   http-bench server [port] [heartbeat-seconds]
//   http-bench idle <stream-url> [connections] [seconds] [epoll|poll]
//   http-bench throughput <url> [requests] [concurrency] [epoll|poll]
let args = CommandLine.arguments.dropFirst().map { $0 }
func arg(_ i: Int, _ fallback: String) -> String { args.count > i ? args[i] : fallback }
func mechanism(_ i: Int) -> HTTPClient.Configuration.LoopMechanism { arg(i, "epoll") == "poll" ? .poll : .epoll }

switch args.first {
case "server":
    try await BenchServer.run(port: Int(arg(1, "0"))!, heartbeat: .seconds(Int64(arg(2, "5"))!))
case "idle":
    try await IdleStreamsBench.run(url: arg(1, "http://127.0.0.1:18080/stream"), connections: Int(arg(2, "2000"))!, seconds: Double(arg(3, "30"))!, mechanism: mechanism(4))
case "throughput":
    try await ThroughputBench.run(url: arg(1, "http://127.0.0.1:18080/small"), requests: Int(arg(2, "50000"))!, concurrency: Int(arg(3, "64"))!, mechanism: mechanism(4))
default:
    FileHandle.standardError.write(Data("usage: http-bench server|idle|throughput ...\n".utf8))
    exit(2)
}
