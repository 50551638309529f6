/// Namespace URIs of the EWS wire format. Decoding matches on these URIs plus local names,
/// never on prefixes, because servers use `s:`, `soap:`, `soap11:` or a default namespace.
public enum EWSNamespace {
    public static let soap = "http://schemas.xmlsoap.org/soap/envelope/"
    public static let messages = "http://schemas.microsoft.com/exchange/services/2006/messages"
    public static let types = "http://schemas.microsoft.com/exchange/services/2006/types"
    public static let errors = "http://schemas.microsoft.com/exchange/services/2006/errors"
    public static let autodiscover = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
    public static let addressing = "http://www.w3.org/2005/08/addressing"
    public static let xsi = "http://www.w3.org/2001/XMLSchema-instance"

    /// Namespaces a child of a known EWS element may legitimately carry. Servers put some
    /// elements in `m:` although the XSD says `t:` (fact sheet §3.6) and some omit the
    /// namespace entirely, so children are matched by local name within this set.
    static let ewsFamily: Set<String> = [messages, types, errors, ""]
}
