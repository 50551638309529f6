import Crypto
public import Foundation
import NIOSSL
import X509

/// ews-sim's throwaway PKI for `--tls`: a CA and a server certificate (SANs: DNS localhost and
/// IP 127.0.0.1 by default), both generated in-process at start with P-256 keys. Only the CA
/// certificate leaves the process (`writeCA`), so clients can verify the server like a real one.
public struct SimTLS: Sendable {
    /// PEM of the CA certificate: what clients trust.
    public let caPEM: String
    let certificatePEM: String
    /// The server key stays inside; never logged.
    let privateKeyPEM: String

    public struct Failure: Error, CustomStringConvertible {
        public enum Code: String, Sendable { case generate, writeCA, context }
        public var code: Code
        public var detail: String
        public var description: String { "SimTLS \(code.rawValue): \(detail)" }
    }

    /// Generates a new CA and a server certificate for `dnsNames` and `ipAddresses` (4 or 16
    /// bytes each), valid from an hour ago for `validity`.
    public static func generate(dnsNames: [String] = ["localhost"], ipAddresses: [[UInt8]] = [[127, 0, 0, 1]],
                                now: Date = Date(), validity: TimeInterval = 7 * 86_400) throws -> SimTLS {
        do {
            let notBefore = now.addingTimeInterval(-3600), notAfter = now.addingTimeInterval(validity)
            let caKey = P256.Signing.PrivateKey()
            let caName = try DistinguishedName {
                OrganizationName("ews-sim")
                CommonName("ews-sim test CA")
            }
            let ca = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: caName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(caKey.publicKey))
                },
                issuerPrivateKey: .init(caKey))

            let serverKey = P256.Signing.PrivateKey()
            let names = dnsNames.map { GeneralName.dnsName($0) } + ipAddresses.map { GeneralName.ipAddress(.init(contentBytes: $0[...])) }
            let server = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName,
                subject: try DistinguishedName {
                    OrganizationName("ews-sim")
                    CommonName(dnsNames.first ?? "localhost")
                },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(names)
                    AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: .init(caKey.publicKey)).keyIdentifier)
                },
                issuerPrivateKey: .init(caKey))
            return SimTLS(caPEM: try ca.serializeAsPEM().pemString, certificatePEM: try server.serializeAsPEM().pemString,
                          privateKeyPEM: serverKey.pemRepresentation)
        } catch {
            throw Failure(code: .generate, detail: String(describing: error))
        }
    }

    /// Writes the CA certificate (PEM) to `path`, creating the directory if needed.
    public func writeCA(to path: String) throws {
        do {
            let url = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(caPEM.utf8).write(to: url, options: .atomic)
        } catch {
            throw Failure(code: .writeCA, detail: "\(path): \(error)")
        }
    }

    /// A NIOSSL server context presenting the server certificate (TLS 1.2+).
    func makeServerContext() throws -> NIOSSLContext {
        do {
            let certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
            let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // NIOSSL errors name the failing call, never key material.
            throw Failure(code: .context, detail: String(describing: error))
        }
    }

    /// Default CA path for `--tls` without `--tls-ca-out`: a fresh directory under the temp dir.
    public static func defaultCAPath() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ews-sim-tls-\(UUID().uuidString)")
        return directory.appendingPathComponent("ca.pem").path
    }
}
