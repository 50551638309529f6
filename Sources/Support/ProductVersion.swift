/// The one place the release is named: `ewsfleet --version` prints it and every instance's
/// heartbeat row (`fleet_instances.version`) records it, so an operator can tell which build each
/// instance runs during a rolling upgrade.
public enum ProductVersion {
    public static let current = "0.2.0"
}
