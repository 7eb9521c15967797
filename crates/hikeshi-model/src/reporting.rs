//! Vocabulary of management reporting: the four KPI groups, entries the team records by hand,
//! the countermeasure map's axes, and the maturity self-check's service catalogue.

use crate::UnknownValue;
wire_enum!(
    /// The four parts of the CISO dashboard.
    Kpi, "kpi", {
        Attack => "attack",
        Protect => "protect",
        Suspicious => "suspicious",
        Indirect => "indirect",
    }
);

wire_enum!(
    /// What the team records by hand for the dashboard and the monthly report.
    EntryKind, "kind", {
        ExternalEvent => "external_event",
        Leaver => "leaver",
        LostDevice => "lost_device",
        VendorChange => "vendor_change",
        Intel => "intel",
        Decision => "decision",
        Plan => "plan",
    }
);

impl EntryKind {
    /// The KPI group an entry feeds, if any; decisions and plans only go into the report.
    pub fn kpi(self) -> Option<Kpi> {
        match self {
            EntryKind::ExternalEvent => Some(Kpi::Attack),
            EntryKind::Leaver
            | EntryKind::LostDevice
            | EntryKind::VendorChange
            | EntryKind::Intel => Some(Kpi::Indirect),
            EntryKind::Decision | EntryKind::Plan => None,
        }
    }
}

wire_enum!(
    /// Rows of the countermeasure map.
    DefenceLayer, "layer", {
        Network => "network",
        MailWeb => "mail_web",
        Endpoint => "endpoint",
        Servers => "servers",
        Identity => "identity",
        Cloud => "cloud",
        Applications => "applications",
        Monitoring => "monitoring",
        IncidentResponse => "incident_response",
        Awareness => "awareness",
        Physical => "physical",
    }
);

wire_enum!(
    /// Columns of the countermeasure map: the NIST CSF 2.0 functions.
    CsfFunction, "function", {
        Govern => "govern",
        Identify => "identify",
        Protect => "protect",
        Detect => "detect",
        Respond => "respond",
        Recover => "recover",
    }
);

wire_enum!(
    /// How well a registered control works, as its owner judges with evidence.
    Effectiveness, "effectiveness", {
        Effective => "effective",
        Partial => "partial",
        Ineffective => "ineffective",
        Planned => "planned",
    }
);

wire_enum!(
    /// Whether the team runs a service itself.
    Sourcing, "sourcing", {
        InHouse => "in_house",
        Outsourced => "outsourced",
        Mixed => "mixed",
        None => "none",
    }
);

/// The defence layer a Sigma log source belongs to, for the computed Detect column.
/// `product` and `category` come from a rule's `logsource`, or a live source's name.
pub fn layer_of_logsource(product: &str, category: &str, service: &str) -> Option<DefenceLayer> {
    let p = product.to_ascii_lowercase();
    let c = category.to_ascii_lowercase();
    let s = service.to_ascii_lowercase();
    let cloud = [
        "aws",
        "azure",
        "gcp",
        "m365",
        "okta",
        "github",
        "google_workspace",
        "onelogin",
    ];
    if cloud.contains(&p.as_str()) || s == "cloudtrail" {
        return Some(DefenceLayer::Cloud);
    }
    if ["firewall", "dns", "zeek", "network_connection"].contains(&c.as_str())
        || ["zeek", "cisco", "juniper", "fortinet", "paloalto"].contains(&p.as_str())
    {
        return Some(DefenceLayer::Network);
    }
    if ["proxy"].contains(&c.as_str()) || s == "smtp" || c == "email" {
        return Some(DefenceLayer::MailWeb);
    }
    if ["webserver", "application"].contains(&c.as_str())
        || [
            "django",
            "python",
            "ruby_on_rails",
            "spring",
            "nodejs",
            "sql",
            "jvm",
            "velocity",
        ]
        .contains(&p.as_str())
    {
        return Some(DefenceLayer::Applications);
    }
    if ["security", "auth", "sshd", "kerberos", "ntlm", "ldap"].contains(&s.as_str())
        || c == "authentication"
    {
        return Some(DefenceLayer::Identity);
    }
    if p == "windows"
        || p == "macos"
        || c.starts_with("process_")
        || c.starts_with("file_")
        || c.starts_with("registry_")
        || c == "image_load"
        || c == "ps_script"
    {
        return Some(DefenceLayer::Endpoint);
    }
    if p == "linux" || p == "syslog" || s == "syslog" {
        return Some(DefenceLayer::Servers);
    }
    None
}

/// One service of the FIRST CSIRT Services Framework (v2.1), with our own question texts.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MaturityService {
    pub code: &'static str,
    pub area: &'static str,
    pub name_ja: &'static str,
    pub name_en: &'static str,
    pub question_ja: &'static str,
    pub question_en: &'static str,
}

/// The framework's five service areas, in its order.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MaturityArea {
    pub code: &'static str,
    pub name_ja: &'static str,
    pub name_en: &'static str,
}

pub const MATURITY_AREAS: &[MaturityArea] = &[
    MaturityArea {
        code: "event_management",
        name_ja: "情報セキュリティイベント管理",
        name_en: "Information security event management",
    },
    MaturityArea {
        code: "incident_management",
        name_ja: "情報セキュリティインシデント管理",
        name_en: "Information security incident management",
    },
    MaturityArea {
        code: "vulnerability_management",
        name_ja: "脆弱性管理",
        name_en: "Vulnerability management",
    },
    MaturityArea {
        code: "situational_awareness",
        name_ja: "状況把握",
        name_en: "Situational awareness",
    },
    MaturityArea {
        code: "knowledge_transfer",
        name_ja: "知識の移転",
        name_en: "Knowledge transfer",
    },
];

macro_rules! service {
    ($code:literal, $area:literal, $nja:literal, $nen:literal, $qja:literal, $qen:literal) => {
        MaturityService {
            code: $code,
            area: $area,
            name_ja: $nja,
            name_en: $nen,
            question_ja: $qja,
            question_en: $qen,
        }
    };
}

pub const MATURITY_SERVICES: &[MaturityService] = &[
    service!("monitoring_detection", "event_management", "監視と検知", "Monitoring and detection",
        "ログの収集と検知ルールの運用が、重要な資産を漏れなく見ていますか。",
        "Do log collection and detection rules cover the assets that matter?"),
    service!("event_analysis", "event_management", "イベント分析", "Event analysis",
        "アラートを決まった手順で分析し、誤検知と本物を見分けていますか。",
        "Are alerts analysed by a set procedure that tells false positives from real events?"),
    service!("incident_report_acceptance", "incident_management", "インシデント報告の受付", "Incident report acceptance",
        "社内外からの報告を一つの窓口で受け、受付番号と返信を必ず返していますか。",
        "Do reports from inside and outside reach one point of contact and always get a tracking number and a reply?"),
    service!("incident_analysis", "incident_management", "インシデント分析", "Incident analysis",
        "インシデントの影響範囲と原因を、記録に残る形で分析していますか。",
        "Is the scope and cause of each incident analysed and written down?"),
    service!("forensic_analysis", "incident_management", "アーティファクト・証拠の分析", "Artifact and forensic evidence analysis",
        "証拠をハッシュと保管記録つきで扱い、必要なときに解析できますか。",
        "Is evidence kept with hashes and custody records, and can it be analysed when needed?"),
    service!("mitigation_recovery", "incident_management", "緩和と復旧", "Mitigation and recovery",
        "封じ込めと復旧の手順があり、承認と切り戻しを含めて実行できますか。",
        "Are there containment and recovery procedures, with approval and rollback, that the team can run?"),
    service!("incident_coordination", "incident_management", "インシデント対応の調整", "Incident coordination",
        "社内部門・JPCERT/CC・警察・ベンダーとの連絡先と連携手順が整っていますか。",
        "Are contacts and procedures for departments, JPCERT/CC, police and vendors ready?"),
    service!("crisis_management", "incident_management", "危機管理の支援", "Crisis management support",
        "重大インシデントで経営層・広報と連携する体制がありますか。",
        "Is there a way to work with management and PR in a major incident?"),
    service!("vulnerability_discovery", "vulnerability_management", "脆弱性の発見", "Vulnerability discovery",
        "自社の資産を定期的に診断し、脆弱性を見つけていますか。",
        "Are the organisation's assets scanned regularly for vulnerabilities?"),
    service!("vulnerability_report_intake", "vulnerability_management", "脆弱性報告の受付", "Vulnerability report intake",
        "外部からの脆弱性報告を受け付ける窓口と方針を公開していますか。",
        "Is there a published contact and policy for outside vulnerability reports?"),
    service!("vulnerability_analysis", "vulnerability_management", "脆弱性の分析", "Vulnerability analysis",
        "見つかった脆弱性を、資産の価値と悪用状況で優先順位づけしていますか。",
        "Are findings prioritised by asset value and known exploitation?"),
    service!("vulnerability_coordination", "vulnerability_management", "脆弱性対応の調整", "Vulnerability coordination",
        "製品の脆弱性について、開発元や関係者と調整できますか。",
        "Can the team coordinate product vulnerabilities with vendors and other parties?"),
    service!("vulnerability_disclosure", "vulnerability_management", "脆弱性の公表", "Vulnerability disclosure",
        "自社製品の脆弱性をアドバイザリとして公表する手順がありますか。",
        "Is there a procedure to publish advisories for the organisation's products?"),
    service!("vulnerability_response", "vulnerability_management", "脆弱性への対応", "Vulnerability response",
        "修正の適用状況を追跡し、期限内に対処できていますか。",
        "Is patching tracked and done within agreed times?"),
    service!("data_acquisition", "situational_awareness", "データの収集", "Data acquisition",
        "脅威情報やログなど、状況把握に必要なデータを集めていますか。",
        "Does the team gather the threat intelligence and logs it needs to know the situation?"),
    service!("analysis_synthesis", "situational_awareness", "分析と統合", "Analysis and synthesis",
        "集めた情報を自社への影響という観点でまとめていますか。",
        "Is what is gathered turned into an assessment of what it means for the organisation?"),
    service!("communication", "situational_awareness", "伝達", "Communication",
        "状況を経営層や関係部門に定期的に報告していますか。",
        "Is the situation reported regularly to management and departments?"),
    service!("awareness_building", "knowledge_transfer", "意識向上", "Awareness building",
        "従業員向けの注意喚起を継続して行っていますか。",
        "Does the team keep staff aware of threats with regular notices?"),
    service!("training_education", "knowledge_transfer", "研修と教育", "Training and education",
        "チームと従業員に役割に応じた研修を行っていますか。",
        "Do the team and staff get training that fits their roles?"),
    service!("exercises", "knowledge_transfer", "演習", "Exercises",
        "インシデント対応の演習を行い、結果を改善に生かしていますか。",
        "Does the team run incident exercises and act on what they show?"),
    service!("technical_policy_advisory", "knowledge_transfer", "技術・ポリシーの助言", "Technical and policy advisory",
        "規程や新しいシステムの計画に、セキュリティの観点から助言していますか。",
        "Does the team advise on policies and new systems from a security view?"),
];

/// The rating scale: 0 not done … 4 measured and improved.
pub const MATURITY_LEVELS: &[(u8, &str, &str)] = &[
    (0, "実施していない", "Not done"),
    (1, "場当たり的に実施", "Done ad hoc"),
    (2, "手順化されている", "Defined procedure"),
    (3, "定常的に運用", "Run routinely"),
    (4, "測定し改善している", "Measured and improved"),
];
