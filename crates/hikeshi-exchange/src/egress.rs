//! The one gate everything that leaves passes through.
//!
//! Effective TLP is the strictest of the object's own marking, its case's and its source's
//! ceiling. Then, by audience (TLP 2.0 as the issue of record reads it):
//! - TLP:RED never leaves: not through an automated channel, and not through a download either,
//!   because a file on disk is already outside the conversation RED is limited to;
//! - TLP:AMBER+STRICT stays inside the organisation;
//! - TLP:AMBER goes to the organisation and to partners marked as its clients;
//! - TLP:GREEN goes to partners and communities, never to the public;
//! - TLP:CLEAR goes anywhere.
//!
//! Victim details (private addresses, names under the organisation's own domains, staff
//! accounts, internal host names) are withheld unless the handler keeps them on purpose, and
//! are taken out of every text that leaves, together with every withheld value.

use crate::victim::{is_internal_address, is_internal_network, VictimProfile};
use hikeshi_model::{ObservableKind, Tlp};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// Who receives what leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// People of the organisation itself.
    Organisation,
    /// A partner the organisation serves (TLP:AMBER may go to it).
    ClientPartner,
    /// Any other partner team.
    Partner,
    /// A sharing community (an ISAC, a trust group).
    Community,
    /// Anyone: a public web page or feed.
    Public,
}

impl Audience {
    pub const ALL: &'static [Audience] = &[
        Audience::Organisation,
        Audience::ClientPartner,
        Audience::Partner,
        Audience::Community,
        Audience::Public,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Audience::Organisation => "organisation",
            Audience::ClientPartner => "client_partner",
            Audience::Partner => "partner",
            Audience::Community => "community",
            Audience::Public => "public",
        }
    }

    pub fn parse(code: &str) -> Option<Audience> {
        Audience::ALL.iter().copied().find(|a| a.code() == code)
    }

    /// Whether a marking lets an object go to this audience.
    pub fn may_receive(self, tlp: Tlp) -> bool {
        match tlp {
            Tlp::Red => false,
            Tlp::AmberStrict => self == Audience::Organisation,
            Tlp::Amber => matches!(self, Audience::Organisation | Audience::ClientPartner),
            Tlp::Green => self != Audience::Public,
            Tlp::Clear => true,
        }
    }
}

/// The way out. Today every channel obeys the same rules; the channel is still part of every
/// decision so that one with stricter rules (an unencrypted mail) can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A person downloads a file (STIX bundle) from hikeshi.
    Download,
    /// A TAXII collection or push.
    Taxii,
    /// A MISP feed or push.
    Misp,
    /// E-mail.
    Email,
    /// A webhook.
    Webhook,
}

/// A case and its observables, as hikeshi holds them, before the gate.
#[derive(Debug, Clone)]
pub struct ShareGraph {
    /// Stable internal identifier of the case: the source of the report's STIX id.
    pub key: String,
    pub number: String,
    pub title: String,
    /// The case's description: leaves only when the handler includes it.
    pub summary: String,
    /// Written instead of the summary when it is not included.
    pub summary_placeholder: String,
    pub tlp: Tlp,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub observables: Vec<ShareObservable>,
}

#[derive(Debug, Clone)]
pub struct ShareObservable {
    /// Stable internal identifier: the source of the indicator's STIX id.
    pub key: String,
    pub kind: ObservableKind,
    /// In canonical form (`hikeshi_model::normalise_observable`).
    pub value: String,
    pub description: String,
    pub tlp: Tlp,
    /// The strictest marking the source of this observable allows (a partner's ceiling).
    pub source_ceiling: Option<Tlp>,
    pub is_ioc: bool,
    pub created_ms: i64,
}

/// What the handler chose for this share.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShareOptions {
    pub include_summary: bool,
    /// Keep private addresses, own domains, staff accounts and host names.
    pub keep_victim_details: bool,
}

/// Why an observable stays behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Its effective marking does not allow this audience.
    Tlp(Tlp),
    /// A private, loopback or link-local address or range.
    InternalAddress,
    /// A name, URL or mailbox under the organisation's own domains.
    OwnDomain,
    /// A host name of ours.
    InternalHost,
    /// An account of our staff.
    StaffAccount,
    /// hikeshi has no exchange form for this kind (`other`).
    NoExchangeForm,
}

impl Reason {
    /// Stable code, also the tail of the locale key `share.reason.<code>`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Tlp(_) => "tlp",
            Reason::InternalAddress => "internal_address",
            Reason::OwnDomain => "own_domain",
            Reason::InternalHost => "internal_host",
            Reason::StaffAccount => "staff_account",
            Reason::NoExchangeForm => "no_exchange_form",
        }
    }
}

/// The whole share is refused: the case's own marking does not allow the audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub case_tlp: Tlp,
    pub audience: Audience,
}

/// An observable the gate lets out, with its texts already cleaned.
#[derive(Debug, Clone)]
pub struct ClearedObservable {
    pub key: String,
    pub kind: ObservableKind,
    pub value: String,
    pub description: String,
    /// Effective marking: what the object is marked with when it leaves.
    pub tlp: Tlp,
    pub is_ioc: bool,
    pub created_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Withheld {
    pub key: String,
    pub kind: ObservableKind,
    pub value: String,
    pub reason: Reason,
}

/// What may leave, for one audience and channel. Only [`clear`] makes one, and serializers take
/// nothing else, so whatever they write has been through the gate.
#[derive(Debug, Clone)]
pub struct Cleared {
    audience: Audience,
    channel: Channel,
    key: String,
    number: String,
    title: String,
    description: String,
    tlp: Tlp,
    created_ms: i64,
    modified_ms: i64,
    leaving: Vec<ClearedObservable>,
    withheld: Vec<Withheld>,
}

impl Cleared {
    pub fn audience(&self) -> Audience {
        self.audience
    }
    pub fn channel(&self) -> Channel {
        self.channel
    }
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn number(&self) -> &str {
        &self.number
    }
    pub fn title(&self) -> &str {
        &self.title
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The case's marking, which the report carries.
    pub fn tlp(&self) -> Tlp {
        self.tlp
    }
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }
    pub fn modified_ms(&self) -> i64 {
        self.modified_ms
    }
    pub fn leaving(&self) -> &[ClearedObservable] {
        &self.leaving
    }
    pub fn withheld(&self) -> &[Withheld] {
        &self.withheld
    }
}

/// The gate. `Err` when the case itself may not go to this audience: then nothing leaves.
pub fn clear(
    graph: &ShareGraph,
    audience: Audience,
    channel: Channel,
    victim: &VictimProfile,
    options: ShareOptions,
) -> Result<Cleared, Refusal> {
    if !audience.may_receive(graph.tlp) {
        return Err(Refusal {
            case_tlp: graph.tlp,
            audience,
        });
    }
    let mut leaving = Vec::new();
    let mut withheld = Vec::new();
    for o in &graph.observables {
        let effective = effective_tlp(graph.tlp, o);
        let reason = if !audience.may_receive(effective) {
            Some(Reason::Tlp(effective))
        } else if o.kind == ObservableKind::Other {
            Some(Reason::NoExchangeForm)
        } else if options.keep_victim_details {
            None
        } else {
            victim_detail(o, victim)
        };
        match reason {
            Some(reason) => withheld.push(Withheld {
                key: o.key.clone(),
                kind: o.kind,
                value: o.value.clone(),
                reason,
            }),
            None => leaving.push((o, effective)),
        }
    }
    // One value, two observables: the stricter decision holds for both, or the value would
    // leave through the one while the other was withheld.
    let held: HashMap<String, Reason> = withheld
        .iter()
        .map(|w| (w.value.to_ascii_lowercase(), w.reason))
        .collect();
    let (also_held, leaving): (Vec<_>, Vec<_>) = leaving
        .into_iter()
        .partition(|(o, _)| held.contains_key(&o.value.to_ascii_lowercase()));
    for (o, _) in also_held {
        withheld.push(Withheld {
            key: o.key.clone(),
            kind: o.kind,
            value: o.value.clone(),
            reason: held[&o.value.to_ascii_lowercase()],
        });
    }
    // Every text that leaves loses the withheld values; when victim details are not kept, it
    // also loses private addresses and own names that were never recorded as observables.
    let held_values: Vec<&str> = withheld.iter().map(|w| w.value.as_str()).collect();
    let clean = |text: &str| {
        if options.keep_victim_details {
            VictimProfile::default().redact(text, &held_values)
        } else {
            victim.redact(text, &held_values)
        }
    };
    let description = if options.include_summary && !graph.summary.trim().is_empty() {
        clean(&graph.summary)
    } else {
        clean(&graph.summary_placeholder)
    };
    let leaving = leaving
        .into_iter()
        .map(|(o, tlp)| ClearedObservable {
            key: o.key.clone(),
            kind: o.kind,
            value: o.value.clone(),
            description: clean(&o.description),
            tlp,
            is_ioc: o.is_ioc,
            created_ms: o.created_ms,
        })
        .collect();
    Ok(Cleared {
        audience,
        channel,
        key: graph.key.clone(),
        number: graph.number.clone(),
        title: clean(&graph.title),
        description,
        tlp: graph.tlp,
        created_ms: graph.created_ms,
        modified_ms: graph.modified_ms.max(graph.created_ms),
        leaving,
        withheld,
    })
}

/// The strictest of the observable's marking, its case's and its source's ceiling.
pub fn effective_tlp(case_tlp: Tlp, o: &ShareObservable) -> Tlp {
    let own = crate::tlp::strictest(o.tlp, case_tlp);
    match o.source_ceiling {
        Some(ceiling) => crate::tlp::strictest(own, ceiling),
        None => own,
    }
}

fn victim_detail(o: &ShareObservable, victim: &VictimProfile) -> Option<Reason> {
    use ObservableKind::*;
    match o.kind {
        Ip => match o.value.parse::<IpAddr>() {
            Ok(ip) if is_internal_address(ip) => Some(Reason::InternalAddress),
            _ => None,
        },
        Cidr => match o.value.parse::<IpNet>() {
            Ok(net) if is_internal_network(net) => Some(Reason::InternalAddress),
            _ => None,
        },
        Domain => victim.is_own_domain(&o.value).then_some(Reason::OwnDomain),
        Url | Email => victim
            .names_own_domain(&o.value)
            .then_some(Reason::OwnDomain),
        Host => Some(Reason::InternalHost),
        UserAccount => Some(Reason::StaffAccount),
        Md5 | Sha1 | Sha256 | Filename | RegistryKey | Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observable(kind: ObservableKind, value: &str, tlp: Tlp) -> ShareObservable {
        ShareObservable {
            key: format!("k-{value}"),
            kind,
            value: value.into(),
            description: String::new(),
            tlp,
            source_ceiling: None,
            is_ioc: true,
            created_ms: 0,
        }
    }

    fn graph(tlp: Tlp, observables: Vec<ShareObservable>) -> ShareGraph {
        ShareGraph {
            key: "case-1".into(),
            number: "2026-0001".into(),
            title: "フィッシング".into(),
            summary: "社内 10.0.0.8 が感染".into(),
            summary_placeholder: "placeholder".into(),
            tlp,
            created_ms: 0,
            modified_ms: 0,
            observables,
        }
    }

    #[test]
    fn red_case_is_refused_for_everyone() {
        for a in Audience::ALL {
            let r = clear(
                &graph(Tlp::Red, vec![]),
                *a,
                Channel::Download,
                &VictimProfile::default(),
                ShareOptions::default(),
            );
            assert!(r.is_err(), "{a:?}");
        }
    }

    #[test]
    fn case_marking_raises_every_observable() {
        let g = graph(
            Tlp::Amber,
            vec![observable(ObservableKind::Ip, "203.0.113.5", Tlp::Clear)],
        );
        let c = clear(
            &g,
            Audience::ClientPartner,
            Channel::Taxii,
            &VictimProfile::default(),
            ShareOptions::default(),
        )
        .unwrap();
        assert_eq!(c.leaving()[0].tlp, Tlp::Amber);
        assert!(clear(
            &g,
            Audience::Partner,
            Channel::Taxii,
            &VictimProfile::default(),
            ShareOptions::default()
        )
        .is_err());
    }

    #[test]
    fn source_ceiling_and_victim_details_hold_back() {
        let mut partner_only = observable(ObservableKind::Domain, "evil.example", Tlp::Green);
        partner_only.source_ceiling = Some(Tlp::AmberStrict);
        let g = graph(
            Tlp::Green,
            vec![
                partner_only,
                observable(ObservableKind::Ip, "10.0.0.8", Tlp::Green),
                observable(ObservableKind::Email, "cfo@example.co.jp", Tlp::Green),
                observable(ObservableKind::Host, "fs01", Tlp::Green),
                observable(ObservableKind::Sha256, &"a".repeat(64), Tlp::Clear),
            ],
        );
        let victim = VictimProfile::new(["example.co.jp"]);
        let c = clear(
            &g,
            Audience::Community,
            Channel::Misp,
            &victim,
            ShareOptions {
                include_summary: true,
                keep_victim_details: false,
            },
        )
        .unwrap();
        let reasons: Vec<Reason> = c.withheld().iter().map(|w| w.reason).collect();
        assert_eq!(
            reasons,
            vec![
                Reason::Tlp(Tlp::AmberStrict),
                Reason::InternalAddress,
                Reason::OwnDomain,
                Reason::InternalHost
            ]
        );
        assert_eq!(c.leaving().len(), 1);
        assert_eq!(c.leaving()[0].tlp, Tlp::Green);
        assert_eq!(c.description(), "社内 [redacted] が感染");
    }
}
