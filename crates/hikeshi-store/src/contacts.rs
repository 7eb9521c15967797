//! The contact directory, the escalation matrix and the notifications made from cases.

use crate::audit::{record, NONE};
use crate::{new_id, now_ms, Actor, Result, Store, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub organisation: String,
    pub role: String,
    pub email: String,
    pub phone: String,
    pub pgp_fingerprint: String,
    pub notes: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub name: String,
    pub organisation: String,
    pub role: String,
    pub email: String,
    pub phone: String,
    pub pgp_fingerprint: String,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EscalationRule {
    pub id: String,
    /// Empty: every category.
    pub category: String,
    pub min_severity: String,
    pub contact_id: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CaseNotification {
    pub id: String,
    pub case_id: String,
    pub contact_id: String,
    pub channel: String,
    pub note: String,
    pub notified_by: String,
    pub notified_at: i64,
}

const CONTACT_COLUMNS: &str =
    "id, name, organisation, role, email, phone, pgp_fingerprint, notes, created_by, created_at";

impl Store {
    pub async fn create_contact(&self, new: &NewContact, actor: &Actor) -> Result<Contact> {
        let c = Contact {
            id: new_id(),
            name: new.name.clone(),
            organisation: new.organisation.clone(),
            role: new.role.clone(),
            email: new.email.clone(),
            phone: new.phone.clone(),
            pgp_fingerprint: new.pgp_fingerprint.clone(),
            notes: new.notes.clone(),
            created_by: actor.username.clone(),
            created_at: now_ms(),
        };
        let mut tx = self.writer.begin().await?;
        let sql = format!("INSERT INTO contacts ({CONTACT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.organisation)
            .bind(&c.role)
            .bind(&c.email)
            .bind(&c.phone)
            .bind(&c.pgp_fingerprint)
            .bind(&c.notes)
            .bind(&c.created_by)
            .bind(c.created_at)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "contact.create",
            "contact",
            &c.id,
            NONE,
            Some(&c),
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn contacts(&self) -> Result<Vec<Contact>> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts ORDER BY role, name, id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn contact(&self, id: &str) -> Result<Contact> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("contact {id}")))
    }

    pub async fn create_escalation_rule(
        &self,
        category: &str,
        min_severity: &str,
        contact_id: &str,
        actor: &Actor,
    ) -> Result<EscalationRule> {
        let rule = EscalationRule {
            id: new_id(),
            category: category.to_string(),
            min_severity: min_severity.to_string(),
            contact_id: contact_id.to_string(),
            created_by: actor.username.clone(),
            created_at: now_ms(),
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO escalation_rules (id, category, min_severity, contact_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&rule.id)
        .bind(&rule.category)
        .bind(&rule.min_severity)
        .bind(&rule.contact_id)
        .bind(&rule.created_by)
        .bind(rule.created_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "escalation.create",
            "escalation_rule",
            &rule.id,
            NONE,
            Some(&rule),
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    pub async fn escalation_rules(&self) -> Result<Vec<EscalationRule>> {
        Ok(sqlx::query_as(
            "SELECT id, category, min_severity, contact_id, created_by, created_at FROM escalation_rules ORDER BY category, min_severity, id",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    /// Records that a contact was notified about a case, with a timeline entry, in one
    /// transaction.
    pub async fn record_notification(
        &self,
        case_id: &str,
        contact: &Contact,
        channel: &str,
        note: &str,
        timeline_text: &str,
        actor: &Actor,
    ) -> Result<CaseNotification> {
        let n = CaseNotification {
            id: new_id(),
            case_id: case_id.to_string(),
            contact_id: contact.id.clone(),
            channel: channel.to_string(),
            note: note.to_string(),
            notified_by: actor.username.clone(),
            notified_at: now_ms(),
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO case_notifications (id, case_id, contact_id, channel, note, notified_by, notified_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&n.id)
        .bind(&n.case_id)
        .bind(&n.contact_id)
        .bind(&n.channel)
        .bind(&n.note)
        .bind(&n.notified_by)
        .bind(n.notified_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO timeline_entries (id, case_id, occurred_at, kind, text, author, created_at) VALUES ($1, $2, $3, 'action', $4, $5, $6)",
        )
        .bind(new_id())
        .bind(case_id)
        .bind(n.notified_at)
        .bind(timeline_text)
        .bind(&actor.username)
        .bind(n.notified_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "case.notify",
            "case",
            case_id,
            NONE,
            Some(&n),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn case_notifications(&self, case_id: &str) -> Result<Vec<CaseNotification>> {
        Ok(sqlx::query_as(
            "SELECT id, case_id, contact_id, channel, note, notified_by, notified_at FROM case_notifications WHERE case_id = $1 ORDER BY notified_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.reader)
        .await?)
    }
}
