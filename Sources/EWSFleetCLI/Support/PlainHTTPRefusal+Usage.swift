import Store

extension PlainHTTPRefusal {
    /// The refusal as `tenant add|update` reports it: a usage error naming the options whose URLs
    /// are not https:// and the option that allows them.
    var usageMessage: String {
        "tenant \(tenant): \(endpointsNotHTTPS(named: \.option)), \(consequence); use https://, "
            + "or pass --allow-plain-http to allow it (lab and test servers only)"
    }
}
