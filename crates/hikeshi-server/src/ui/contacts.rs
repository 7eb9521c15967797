//! The contact directory and the escalation matrix as pages: managers keep them, everyone
//! signed in can look a contact up.

use super::{
    category_choices, category_label, choices, error_page, render, see_other, Choice, I18n, Nav,
    SignedIn,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use hikeshi_app::escalation::{self, ContactInput, RuleInput};
use hikeshi_model::{ContactRole, Severity};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(page).post(add_contact))
        .route("/contacts/escalation", post(add_rule))
}

struct ContactRow {
    id: String,
    name: String,
    organisation: String,
    role: String,
    side: String,
    email: String,
    phone: String,
    pgp: String,
    notes: String,
}

struct RuleRow {
    category: String,
    min_severity: String,
    contact: String,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    i: I18n,
    nav: Option<Nav>,
    contacts: Vec<ContactRow>,
    rules: Vec<RuleRow>,
    roles: Vec<Choice>,
    severities: Vec<Choice>,
    categories: Vec<Choice>,
}

async fn page(State(state): State<AppState>, s: SignedIn) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        let contacts = state.store.contacts().await?;
        let rules = state.store.escalation_rules().await?;
        let categories = category_choices(&i, &state.store.categories().await?);
        let cat_label = |code: &str| {
            if code.is_empty() {
                i.t("contacts.any_category")
            } else {
                category_label(&categories, code)
            }
        };
        let rule_rows = rules
            .iter()
            .map(|r| RuleRow {
                category: cat_label(&r.category),
                min_severity: i.label("severity", &r.min_severity),
                contact: contacts
                    .iter()
                    .find(|c| c.id == r.contact_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let contact_rows = contacts
            .into_iter()
            .map(|c| ContactRow {
                side: if ContactRole::parse(&c.role).is_ok_and(|r| r.is_internal()) {
                    i.t("contacts.internal")
                } else {
                    i.t("contacts.external")
                },
                role: i.label("contact_role", &c.role),
                id: c.id,
                name: c.name,
                organisation: c.organisation,
                email: c.email,
                phone: c.phone,
                pgp: c.pgp_fingerprint,
                notes: c.notes,
            })
            .collect();
        Ok::<_, crate::error::ApiError>(ContactsPage {
            contacts: contact_rows,
            rules: rule_rows,
            roles: choices(&i, "contact_role", ContactRole::ALL, ContactRole::code),
            severities: choices(&i, "severity", Severity::ALL, Severity::code),
            categories,
            i: i.clone(),
            nav: Some(s.nav.clone()),
        })
    }
    .await;
    match result {
        Ok(p) => render(&p),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

#[derive(Deserialize)]
struct ContactForm {
    csrf: String,
    name: String,
    #[serde(default)]
    organisation: String,
    role: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    pgp_fingerprint: String,
    #[serde(default)]
    notes: String,
}

async fn add_contact(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<ContactForm>,
) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = ContactInput {
            name: f.name,
            organisation: f.organisation,
            role: ContactRole::parse(&f.role)?,
            email: f.email,
            phone: f.phone,
            pgp_fingerprint: f.pgp_fingerprint,
            notes: f.notes,
        };
        escalation::create_contact(&state, &s.who, input).await
    }
    .await;
    match result {
        Ok(_) => see_other("/contacts"),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}

#[derive(Deserialize)]
struct RuleForm {
    csrf: String,
    #[serde(default)]
    category: String,
    min_severity: String,
    contact_id: String,
}

async fn add_rule(State(state): State<AppState>, s: SignedIn, Form(f): Form<RuleForm>) -> Response {
    let i = s.viewer.i.clone();
    let result = async {
        s.who.check_csrf(Some(&f.csrf))?;
        let input = RuleInput {
            category: f.category,
            min_severity: Severity::parse(&f.min_severity)?,
            contact_id: f.contact_id,
        };
        escalation::create_rule(&state, &s.who, input).await
    }
    .await;
    match result {
        Ok(_) => see_other("/contacts#escalation"),
        Err(e) => error_page(&i, Some(s.nav), e),
    }
}
