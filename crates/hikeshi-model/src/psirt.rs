//! Closed sets of the PSIRT side: what a product version's state is for one vulnerability, what
//! is offered against it, why a version is not affected, and which CSAF profile an advisory
//! follows. The codes are CSAF 2.0's own names, so the document needs no translation table.

use crate::UnknownValue;

wire_enum!(
    /// The state of one product version for one product vulnerability (CSAF `product_status`).
    ProductStatus, "status", {
        KnownAffected => "known_affected",
        Fixed => "fixed",
        KnownNotAffected => "known_not_affected",
        UnderInvestigation => "under_investigation",
    }
);

wire_enum!(
    /// What is offered to an affected version (CSAF 2.0 `remediations[].category`).
    RemediationKind, "remediation", {
        VendorFix => "vendor_fix",
        Workaround => "workaround",
        Mitigation => "mitigation",
        NoFixPlanned => "no_fix_planned",
        NoneAvailable => "none_available",
    }
);

wire_enum!(
    /// Why a version is not affected (CSAF 2.0 `flags[].label`, the VEX justifications).
    VexJustification, "justification", {
        ComponentNotPresent => "component_not_present",
        VulnerableCodeNotPresent => "vulnerable_code_not_present",
        VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
        VulnerableCodeCannotBeControlledByAdversary => "vulnerable_code_cannot_be_controlled_by_adversary",
        InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
    }
);

wire_enum!(
    /// The CSAF 2.0 profile of an advisory (`document.category`).
    AdvisoryProfile, "profile", {
        SecurityAdvisory => "csaf_security_advisory",
        Vex => "csaf_vex",
        Informational => "csaf_informational_advisory",
    }
);

wire_enum!(
    /// A published revision's status (CSAF `tracking.status`); drafts are never published.
    RevisionStatus, "status", {
        Interim => "interim",
        Final => "final",
    }
);

wire_enum!(
    /// Who coordinates the disclosure of a product vulnerability.
    Coordinator, "coordinator", {
        Jpcert => "jpcert",
        Vendor => "vendor",
        Direct => "direct",
    }
);
