//! Closed sets of the domain. Each value has a stable wire code (API, database, forms) and a
//! message key for the UI; the labels themselves live in the server's locale files.

use crate::UnknownValue;

/// Defines an enum whose variants map one-to-one to stable wire codes.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name of the field this value travels in, for error messages.
            pub const FIELD: &'static str = $field;

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(value: &str) -> Result<Self, UnknownValue> {
                match value {
                    $($code => Ok($name::$variant),)+
                    other => Err(UnknownValue {
                        field: $field,
                        value: other.chars().take(64).collect(),
                        expected: [$($code),+].join(", "),
                    }),
                }
            }

            /// Key of the value's label in the locale files, e.g. `severity.high`.
            pub fn message_key(self) -> String {
                format!("{}.{}", $field, self.code())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

wire_enum!(
    /// What a user may do. Ordered from most to least powerful.
    Role, "role", {
        Admin => "admin",
        Manager => "manager",
        Handler => "handler",
        Viewer => "viewer",
    }
);

impl Role {
    /// Create and change cases, tasks, observables, evidence, comments.
    pub fn can_edit_cases(self) -> bool {
        matches!(self, Role::Admin | Role::Manager | Role::Handler)
    }
    /// Decisions of the incident commander: merge, close, reject, reopen.
    pub fn can_command(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }
    /// Users, tokens of others, settings, the audit log.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

wire_enum!(
    /// What an API token may do: everything its user may, or only send events (log shippers,
    /// agents), nothing else — not even read.
    TokenScope, "scope", {
        Full => "full",
        Ingest => "ingest",
    }
);

wire_enum!(
    Severity, "severity", {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
        Info => "info",
    }
);

wire_enum!(
    /// Traffic Light Protocol 2.0.
    Tlp, "tlp", {
        Clear => "clear",
        Green => "green",
        Amber => "amber",
        AmberStrict => "amber+strict",
        Red => "red",
    }
);

wire_enum!(
    /// Permissible Actions Protocol: what may be done with the information.
    Pap, "pap", {
        Clear => "clear",
        Green => "green",
        Amber => "amber",
        Red => "red",
    }
);

wire_enum!(
    CaseStatus, "status", {
        New => "new",
        Triage => "triage",
        InProgress => "in_progress",
        Resolved => "resolved",
        Closed => "closed",
        Rejected => "rejected",
    }
);

impl CaseStatus {
    /// The allowed moves. Forward along the lifecycle, rejection from any open state, and
    /// re-opening a resolved or closed case (new facts turn up after closure).
    pub fn can_move_to(self, next: CaseStatus) -> bool {
        use CaseStatus::*;
        if self == next {
            return true;
        }
        matches!(
            (self, next),
            (New, Triage | InProgress | Rejected)
                | (Triage, InProgress | Rejected | New)
                | (InProgress, Resolved | Rejected | Triage)
                | (Resolved, Closed | InProgress)
                | (Closed, InProgress)
                | (Rejected, Triage)
        )
    }

    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::Closed | CaseStatus::Rejected | CaseStatus::Resolved
        )
    }

    /// Moves that only the incident commander (manager/admin) may make.
    pub fn needs_command(self, next: CaseStatus) -> bool {
        matches!(next, CaseStatus::Closed | CaseStatus::Rejected)
            || matches!(self, CaseStatus::Closed | CaseStatus::Rejected)
    }
}

wire_enum!(
    /// Incident response lifecycle phase (NIST SP 800-61).
    Phase, "phase", {
        DetectionAnalysis => "detection_analysis",
        Containment => "containment",
        Eradication => "eradication",
        Recovery => "recovery",
        PostIncident => "post_incident",
    }
);

wire_enum!(
    TaskStatus, "task_status", {
        Todo => "todo",
        InProgress => "in_progress",
        Done => "done",
        Cancelled => "cancelled",
    }
);

wire_enum!(
    /// A timeline entry records either something observed or something the team did.
    TimelineKind, "timeline_kind", {
        Observed => "observed",
        Action => "action",
    }
);

wire_enum!(
    ObservableKind, "observable_kind", {
        Ip => "ip",
        Cidr => "cidr",
        Domain => "domain",
        Url => "url",
        Email => "email",
        Md5 => "md5",
        Sha1 => "sha1",
        Sha256 => "sha256",
        Filename => "filename",
        UserAccount => "user_account",
        Host => "host",
        RegistryKey => "registry_key",
        Other => "other",
    }
);

wire_enum!(
    /// Where an alert is in the analyst's hands.
    AlertStatus, "alert_status", {
        New => "new",
        Acknowledged => "acknowledged",
        Escalated => "escalated",
        FalsePositive => "false_positive",
        Closed => "closed",
        Suppressed => "suppressed",
    }
);

wire_enum!(
    /// Who a contact is to the team: inside the organisation, or the outside parties a
    /// Japanese CSIRT deals with.
    ContactRole, "contact_role", {
        Legal => "legal",
        Pr => "pr",
        It => "it",
        BusinessUnit => "business_unit",
        Executive => "executive",
        Ciso => "ciso",
        JpcertCc => "jpcert_cc",
        Nca => "nca",
        Police => "police",
        Ipa => "ipa",
        Vendor => "vendor",
        SocProvider => "soc_provider",
        Isp => "isp",
        Hosting => "hosting",
        Other => "other",
    }
);

impl ContactRole {
    pub fn is_internal(self) -> bool {
        matches!(
            self,
            ContactRole::Legal
                | ContactRole::Pr
                | ContactRole::It
                | ContactRole::BusinessUnit
                | ContactRole::Executive
                | ContactRole::Ciso
        )
    }
}

/// The JPCERT/CC incident categories every installation has. Teams add their own codes.
pub const BUILTIN_CATEGORIES: &[&str] = &[
    "phishing_site",
    "web_defacement",
    "malware_site",
    "scan",
    "dos",
    "control_system",
    "targeted_attack",
    "other",
];

/// A category code is lowercase ASCII letters, digits and underscores, 2–40 long, so it can
/// travel in URLs and message keys unchanged.
pub fn is_valid_category_code(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.code()), Ok(*s));
        }
        for t in Tlp::ALL {
            assert_eq!(Tlp::parse(t.code()), Ok(*t));
        }
    }

    #[test]
    fn unknown_value_names_field_and_choices() {
        let err = Severity::parse("urgent").unwrap_err();
        assert_eq!(err.field, "severity");
        assert!(err.to_string().contains("critical, high"), "{err}");
    }

    #[test]
    fn lifecycle_moves() {
        use CaseStatus::*;
        assert!(New.can_move_to(Triage));
        assert!(Resolved.can_move_to(Closed));
        assert!(!New.can_move_to(Closed));
        assert!(!Closed.can_move_to(New));
        assert!(InProgress.needs_command(Rejected));
        assert!(!InProgress.needs_command(Resolved));
    }

    #[test]
    fn category_codes() {
        assert!(is_valid_category_code("ransomware"));
        assert!(!is_valid_category_code("Ransom ware"));
        assert!(!is_valid_category_code("x"));
    }
}

wire_enum!(
    /// What an asset is.
    AssetKind, "asset_kind", {
        Server => "server",
        Pc => "pc",
        Mobile => "mobile",
        NetworkDevice => "network_device",
        CloudService => "cloud_service",
        SaasAccount => "saas_account",
        IotOt => "iot_ot",
        Application => "application",
    }
);

wire_enum!(
    /// Where an asset serves: production weighs most in risk.
    Environment, "environment", {
        Production => "production",
        Staging => "staging",
        Test => "test",
    }
);

wire_enum!(
    /// How a case came to the team: the incident statistics count by this.
    CaseSource, "source", {
        Manual => "manual",
        Form => "form",
        Email => "email",
        Api => "api",
        Soc => "soc",
        Detection => "detection",
        Vulnerability => "vulnerability",
        Sharing => "sharing",
    }
);

wire_enum!(
    /// What a response action does. Only the kinds with a connector are offered by policies.
    ActionKind, "action_kind", {
        BlockIp => "block_ip",
        IsolateHost => "isolate_host",
        RestoreContent => "restore_content",
        RemediateVuln => "remediate_vuln",
        Notify => "notify",
    }
);

impl ActionKind {
    /// Kinds that cut a machine of ours off or change it: the requester may not approve them.
    pub fn needs_four_eyes(self) -> bool {
        matches!(self, ActionKind::IsolateHost | ActionKind::RemediateVuln)
    }
}

wire_enum!(
    /// How a policy's action is carried out.
    ResponseMode, "mode", {
        Auto => "auto",
        Approve => "approve",
        DryRun => "dry_run",
    }
);

wire_enum!(
    /// Where a response action is in its life. One row per intent; every move is audited.
    ActionState, "action_state", {
        Proposed => "proposed",
        Simulated => "simulated",
        PendingApproval => "pending_approval",
        Approved => "approved",
        Rejected => "rejected",
        ApprovalExpired => "approval_expired",
        Applying => "applying",
        Active => "active",
        Reverting => "reverting",
        Reverted => "reverted",
        Failed => "failed",
        Revoked => "revoked",
    }
);

impl ActionState {
    /// The moves the lifecycle allows; anything else is a bug or a race and is refused.
    pub fn may_become(self, next: ActionState) -> bool {
        use ActionState::*;
        matches!(
            (self, next),
            (
                Proposed,
                Simulated | PendingApproval | Approved | Rejected | Revoked
            ) | (
                PendingApproval,
                Approved | Rejected | ApprovalExpired | Revoked
            ) | (Approved, Applying | Revoked | Reverted)
                | (Applying, Active | Failed | Revoked | Reverted)
                | (Failed, Applying | Revoked)
                | (Active, Reverting | Revoked | Failed)
                | (Reverting, Reverted | Failed)
        )
    }

    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        use ActionState::*;
        matches!(
            self,
            Simulated | Rejected | ApprovalExpired | Reverted | Revoked
        )
    }
}

#[cfg(test)]
mod action_state_tests {
    use super::ActionState::{self, *};

    #[test]
    fn a_final_state_goes_nowhere() {
        for from in ActionState::ALL {
            if from.is_final() {
                assert!(
                    ActionState::ALL.iter().all(|to| !from.may_become(*to)),
                    "{from} is final but may move"
                );
            }
        }
    }

    #[test]
    fn approval_is_needed_before_applying() {
        assert!(!PendingApproval.may_become(Applying));
        assert!(PendingApproval.may_become(Approved));
        assert!(Approved.may_become(Applying));
        assert!(!Rejected.may_become(Approved));
        assert!(Active.may_become(Revoked));
    }
}
